/**
 * Reading raw MQTT 5 bytes a subscriber received, for tests that check what mqtt-packet cannot show
 * (it keeps User Properties as an object, which loses the order of interleaved names).
 */

/**
 * The User Property pairs of the first QoS 0 PUBLISH in `bytes` (packets before it, such as CONNACK and
 * SUBACK, are skipped), in the order they were written [MQTT-3.3.2-18].
 */
export function pairsOfPublish(bytes: Buffer): [string, string][] {
  let i = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[i++] as number;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
  };
  for (;;) {
    const type = (bytes[i++] as number) >> 4;
    const length = varint();
    if (type === 3) break;
    i += length;
  }
  i += 2 + bytes.readUInt16BE(i); // topic (QoS 0: no packet identifier)
  const end = i + varint();
  const readStr = (): string => {
    const n = bytes.readUInt16BE(i);
    const s = bytes.toString("utf8", i + 2, i + 2 + n);
    i += 2 + n;
    return s;
  };
  const out: [string, string][] = [];
  while (i < end) {
    const id = bytes[i++];
    if (id === 0x26) out.push([readStr(), readStr()]);
    else if (id === 0x01)
      i += 1; // Payload Format Indicator
    else if (id === 0x02)
      i += 4; // Message Expiry Interval
    else if (id === 0x23)
      i += 2; // Topic Alias
    else if (id === 0x03 || id === 0x08)
      readStr(); // Content Type, Response Topic
    else if (id === 0x09)
      i += 2 + bytes.readUInt16BE(i); // Correlation Data
    else throw new Error(`unexpected property ${id}`);
  }
  return out;
}
