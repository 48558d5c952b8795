import { describe, expect, it } from "vitest";
import { PacketParser } from "./parser.js";

describe("PacketParser", () => {
  it("parses the next packet after a failed one (one parser serves every connection)", () => {
    const parser = new PacketParser();
    // A CONNECT cut short after its flags, then a PINGREQ.
    expect("error" in parser.parse(Buffer.from("100800044d5154540502", "hex"), 5)).toBe(true);
    const next = parser.parse(Buffer.from("c000", "hex"), 4);
    expect("packet" in next && next.packet.cmd).toBe("pingreq");
  });

  it("parses with the version given on each call", () => {
    const parser = new PacketParser();
    // PUBACK with a v5 reason code byte and no properties.
    const v5 = parser.parse(Buffer.from("4003000110", "hex"), 5);
    expect("packet" in v5 && (v5.packet as { reasonCode?: number }).reasonCode).toBe(0x10);
    const v4 = parser.parse(Buffer.from("40020001", "hex"), 4);
    expect("packet" in v4 && v4.packet.cmd).toBe("puback");
  });
});
