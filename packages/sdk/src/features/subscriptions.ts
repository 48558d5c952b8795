/**
 * Selections: which topics this session receives (`topic`, `v` and `untopic` frames). Selecting is
 * separate from value streams, as in Diffusion: a stream receives only topics the session has selected.
 *
 * @module
 */
import { parseSelector } from "@skein/protocol";
import type { Requester } from "./results.js";

/**
 * Selects the topics `selector` names, now and later: a topic added afterwards that matches is
 * selected too. Resolves once the server has recorded the selection (the topics follow as frames).
 * @throws SkeinError `INVALID_SELECTOR` (checked before sending), `NOT_AUTHORIZED`
 */
export async function select(link: Requester, selector: string): Promise<void> {
  parseSelector(selector);
  await link.request({ type: "select", selector }, `select ${selector}`);
}

/**
 * Removes a selection; topics no other selection of the session holds are unselected (streams hear
 * `onUnsubscribe(path, "unselected")`).
 * @throws SkeinError `INVALID_SELECTOR`
 */
export async function unselect(link: Requester, selector: string): Promise<void> {
  parseSelector(selector);
  await link.request({ type: "unselect", selector }, `unselect ${selector}`);
}
