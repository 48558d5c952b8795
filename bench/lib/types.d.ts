// Types shared by the bench modules (JSDoc refers to them as import("./types.js").Name).
import type { MqttOptions, SdkOptions } from "./args.mjs";
import type { ChildServer } from "./child.mjs";

/**
 * One result record of the JSON files (figures by name: msgsPerSec, p99Ms, deliveredPerSec, …, or
 * `error`). Loose on purpose: scenarios add their own figures, and the JSON keeps them as they are.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON figures of many shapes, read by name
export type Figures = Record<string, any>;

/** A column of a console table: its header and how a result shows in it. */
export type Column = [header: string, show: (r: Figures) => string];

/** What a target check found: `pass` null when a side has no figure. */
export interface Target {
  target: string;
  value: number | null;
  pass: boolean | null;
  /** SDK targets: the figures as printed. */
  shown?: string;
  /** SDK targets: why a failure may be the machine's. */
  note?: string;
}

/** The kind of an MQTT scenario: which columns, ratios and median it has. */
export type MqttKind = "throughput" | "latency" | "idle" | "ceiling";

/** A running MQTT broker (or the null sink) the load generator talks to. */
export type Broker = ChildServer;

/** An MQTT scenario module (bench/scenarios/*.mjs): run against each broker in turn. */
export interface MqttScenario {
  name: string;
  suite: "mqtt";
  /** The options it reads (their --names without the dashes). */
  options: string[];
  title: (opts: MqttOptions) => string;
  kind: MqttKind;
  /** Skein runs on its default configuration, without the bench's raised bounds. */
  skeinDefaults?: boolean;
  generatorOnly?: false;
  run: (broker: Broker, opts: MqttOptions) => Promise<Figures>;
  /** Extra report lines after the table. */
  report?: (byBroker: Record<string, Figures>) => void;
}

/** The load generator's own ceiling: runs once against the null sink instead of once per broker. */
export interface CeilingScenario {
  name: string;
  suite: "mqtt";
  options: string[];
  title: (opts: MqttOptions) => string;
  kind: "ceiling";
  generatorOnly: true;
  run: (opts: MqttOptions) => Promise<Record<string, Figures>>;
}

/** An SDK scenario module: runs its cases on fresh servers and prints and checks its own result. */
export interface SdkScenario {
  name: string;
  /** Its name in bench/run-sdk.mjs and its key in the JSON scenarios. */
  key: string;
  suite: "sdk";
  options: string[];
  run: (opts: SdkOptions, skip: Record<string, string>) => Promise<Figures>;
  print: (opts: SdkOptions, result: Figures) => void;
  targets: (result: Figures, opts: SdkOptions, meta: Figures) => Target[];
}

/**
 * A scenario with its own servers, anchors and report (storage, security): runs once, prints its
 * figures and returns them with its `targets`; its JSON goes under `scenarios.<name>` of --out.
 */
export interface OwnScenario {
  name: string;
  suite: "own";
  options: string[];
  title: (opts: MqttOptions) => string;
  /** Its figures, with `targets: Target[]`. */
  run: (opts: MqttOptions) => Promise<Figures>;
}
