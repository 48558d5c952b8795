/**
 * An Authorizer for tests, injected through `createServer(config, { authorizer })`: allows everything
 * except what its deny rules name. A rule names a permission, optionally a principal (the MQTT user
 * name or the SDK hello principal; absent: everyone) and, for path permissions, a path prefix (the
 * path itself or anything below it; "" is the root).
 */
import type { Permission } from "@skein/protocol";
import type { Actor, Authorizer } from "../../src/index.js";

/** One thing that is refused. */
export interface DenyRule {
  readonly permission: Permission;
  readonly principal?: string;
  readonly prefix?: string;
}

/** A test authorizer whose rules may change while the server runs (bump `version` when they do). */
export class DenyRules implements Authorizer {
  version = 1;
  /** How many times it was asked (proves caching and the allowAll shortcut). */
  asked = 0;

  constructor(public rules: DenyRule[]) {}

  authorize(actor: Actor, permission: Permission, path?: string): boolean {
    this.asked++;
    for (const rule of this.rules) {
      if (rule.permission !== permission) continue;
      if (rule.principal !== undefined && rule.principal !== actor.principal) continue;
      const p = rule.prefix;
      if (p === undefined || path === undefined || p === "" || path === p || path.startsWith(`${p}/`))
        return false;
    }
    return true;
  }

  /** Replaces the rules (the security store changed). */
  set(rules: DenyRule[]): void {
    this.rules = rules;
    this.version++;
  }
}
