/**
 * The base of the façade (see ../facade.ts): the authorizer in charge, the one check every operation
 * makes (`check()`), refusals counted and logged, and the per-delivery read gate it
 * installs on the subscription index.
 */
import type { Permission } from "@skein/protocol";
import type { Core } from "../core.js";
import type { Counter } from "../metrics.js";
import { type Actor, type Authorizer, allowAll } from "../security/types.js";
import { refusal } from "./control.js";
import { ReadGate } from "./read-gate.js";

/** The authorizer, the check and the delivery check of the façade. */
export class FacadeBase {
  private authorizer: Authorizer = allowAll;
  /** Undefined while the authorizer is {@link allowAll}: nothing is checked per delivery then. */
  protected gate: ReadGate | undefined;
  private readonly refusedDeliveries: Counter;

  constructor(
    protected readonly core: Core,
    authorizer: Authorizer = allowAll,
  ) {
    this.refusedDeliveries = core.metrics.counter("skein_deliveries_refused_total");
    this.useAuthorizer(authorizer);
  }

  /** Puts `authorizer` in charge of every check from now on (the security model at start-up). */
  useAuthorizer(authorizer: Authorizer): void {
    this.authorizer = authorizer;
    const gate = authorizer === allowAll ? undefined : new ReadGate(authorizer);
    this.gate = gate;
    const refused = this.refusedDeliveries;
    this.core.subscriptions.readGate =
      gate === undefined
        ? undefined
        : (subscriber, path) => {
            const actor = subscriber.actor;
            if (actor === undefined || gate.mayDeliver(subscriber, actor, path)) return true;
            refused.value++;
            return false;
          };
  }

  /** The delivery check: true when `actor` may read `path` (cached; always true under allowAll). */
  mayRead(actor: Actor, path: string): boolean {
    const gate = this.gate;
    if (gate === undefined || gate.mayRead(actor, path)) return true;
    this.refusedDeliveries.value++;
    return false;
  }

  // ---- the check ----

  /** @throws SkeinError `NOT_AUTHORIZED` unless `actor` holds `permission` (on `path`). */
  protected check(actor: Actor, permission: Permission, path?: string): void {
    if (!this.allows(actor, permission, path)) throw refusal(permission, path);
  }

  /** Asks the authorizer; a refusal is counted and logged. */
  protected allows(actor: Actor, permission: Permission, path?: string): boolean {
    if (this.authorizer.authorize(actor, permission, path)) return true;
    this.core.metrics.inc("skein_operations_refused_total", { permission });
    this.core.log.debug(
      { sessionId: actor.sessionId, principal: actor.principal, permission, path },
      "operation refused",
    );
    return false;
  }
}
