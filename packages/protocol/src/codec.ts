/**
 * Frames to bytes and back. A WebSocket message carries one or more MessagePack-encoded frames,
 * concatenated. Plain MessagePack only (no msgpackr records or extensions), so a client in any
 * language can speak it.
 *
 * @module
 */
import { type Options, Packr } from "msgpackr";
import type { z } from "zod";
import { SkeinError } from "./errors.js";
import { type ClientFrame, type ServerFrame, clientFrameSchema, serverFrameSchema } from "./frames.js";
import { hotClientFrame, hotServerFrame, writeHotFrame } from "./hot-frames.js";

export { type PageEvent, encodeTsPage } from "./hot-frames.js";

/** Turns values into bytes and back. */
export interface Encoder {
  /** One value as bytes. */
  encode(value: unknown): Uint8Array;
  /** Every value in a message (one or more, concatenated). */
  decodeAll(bytes: Uint8Array): unknown[];
}

/** msgpackr's options, with the one its type definitions leave out. */
export interface MsgpackOptions extends Options {
  /** Property values that make msgpackr leave the property out of a map. */
  skipValues: unknown[];
}

/**
 * The msgpackr options of the protocol: plain MessagePack (no records, no extensions), maps as
 * objects, 64-bit integers as numbers, and a field whose value is undefined left out (as in JSON),
 * never sent as msgpackr's own `undefined` extension (msgpackr supports `skipValues`; its type
 * definitions do not list it yet).
 */
export const MSGPACK_OPTIONS: Readonly<MsgpackOptions> = {
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  mapsAsObjects: true,
  variableMapSize: true,
  int64AsType: "number",
  skipValues: [undefined],
};

/**
 * The MessagePack encoder: plain MessagePack, maps as maps, binaries as bytes, no extensions. The
 * frames of the hot paths are written by hand (`hot-frames.ts`), the rest by msgpackr.
 */
export function createMsgpackEncoder(): Encoder {
  const packr = new Packr(MSGPACK_OPTIONS);
  return {
    encode: (value) => writeHotFrame(value) ?? packr.pack(value),
    decodeAll: (bytes) => packr.unpackMultiple(bytes as Parameters<Packr["unpackMultiple"]>[0]) as unknown[],
  };
}

/** The outcome of checking one decoded value against a frame schema. */
export type FrameCheck<TFrame> =
  | {
      /** The value is a valid frame. */
      ok: true;
      /** The frame. */
      frame: TFrame;
    }
  | {
      /** The value is not a valid frame. */
      ok: false;
      /** What is wrong with it, and where. */
      problem: string;
      /** The request id, when the value carried one. */
      id: number | undefined;
    };

function check<TFrame>(schema: z.ZodType<TFrame>, value: unknown): FrameCheck<TFrame> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, frame: result.data };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length ? ` at ${issue.path.join(".")}` : "";
  const raw = value as { id?: unknown } | null;
  const id = raw && typeof raw === "object" && typeof raw.id === "number" ? raw.id : undefined;
  return { ok: false, problem: `${issue?.message ?? "invalid frame"}${where}`, id };
}

/** Checks a value decoded from a client message (the hot frames by hand, the rest with zod). */
export function checkClientFrame(value: unknown): FrameCheck<ClientFrame> {
  const frame = hotClientFrame(value);
  return frame ? { ok: true, frame } : check(clientFrameSchema, value);
}

/** Checks a value decoded from a server message (the hot frames by hand, the rest with zod). */
export function checkServerFrame(value: unknown): FrameCheck<ServerFrame> {
  const frame = hotServerFrame(value);
  return frame ? { ok: true, frame } : check(serverFrameSchema, value);
}

/**
 * Decodes a message into its values.
 * @throws SkeinError `MALFORMED` when the bytes are not MessagePack
 */
export function decodeMessage(encoder: Encoder, bytes: Uint8Array): unknown[] {
  try {
    return encoder.decodeAll(bytes);
  } catch (err) {
    throw new SkeinError("MALFORMED", "message is not valid MessagePack", { cause: err });
  }
}
