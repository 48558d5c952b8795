/** A secured test server: principals alice (role `users`) and admin, anonymous access off, no login slow-down. */
import type { SkeinConfigInput } from "../../src/index.js";
import { startServer, type TestServer } from "../helpers.js";

/** The security section of the secured test server. */
export const SECURED: NonNullable<SkeinConfigInput["security"]> = {
  principals: [
    { name: "alice", password: "wonderland", roles: ["users"] },
    { name: "admin", password: "admin-secret", roles: ["admin"] },
  ],
  roles: [
    {
      name: "users",
      global: ["register_handler"],
      paths: { "": ["select_topic", "read_topic", "update_topic", "modify_topic"], "users/{principal}": [] },
    },
  ],
  anonymous: false,
  failedLoginDelayMs: 0,
};

/** Starts a server with {@link SECURED} (merged over by `config`). */
export function startSecured(config: SkeinConfigInput = {}): Promise<TestServer> {
  return startServer({ ...config, security: { ...SECURED, ...config.security } });
}
