// Extended by typedoc.json: names that TypeDoc's `validation.notDocumented` must not ask a comment for.
//
// Every entry of `ErrorCodes` (packages/protocol/src/errors.ts) has the same three fields, `code`,
// `message` and `mqtt`, documented once on `ErrorCodes` itself; a comment on each of the 120 would bury
// the table. TypeDoc takes such exemptions by full name only (no wildcards), so they are computed from
// the table here, for the protocol package and for the SDK, which re-exports `ErrorCodes`.
import { readFileSync } from "node:fs";

const source = readFileSync(new URL("./packages/protocol/src/errors.ts", import.meta.url), "utf8");
const table = source.slice(source.indexOf("export const ErrorCodes = {"), source.indexOf("} as const;"));
const codes = [...table.matchAll(/^\s+([A-Z][A-Z0-9_]*):\s*\{/gm)].map((match) => match[1]);
if (codes.length === 0) throw new Error("typedoc.exemptions.mjs: no ErrorCodes entries found in errors.ts");

export default {
  intentionallyNotDocumented: ["@skein/protocol", "@skein/sdk"].flatMap((pkg) =>
    codes.flatMap((code) =>
      ["code", "message", "mqtt"].map((field) => `${pkg}.ErrorCodes.__type.${code}.__type.${field}`),
    ),
  ),
};
