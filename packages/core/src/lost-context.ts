import * as util from 'node:util';
import type { RequestContext } from './context.js';
import { missingContextChannel, type MissingContextMessage } from './diagnostics.js';
import { NoContextError } from './errors.js';

/** What to do when a call that should carry a context is made outside any. */
export type MissingContextMode = 'throw' | 'warn' | 'ignore';

// Warned call sites: bounded, and only touched when a call has no context (never a request's path).
const warned = new Set<string>();
const warnedEnded = new Set<string>();
// util.getCallSites() keeps 10 frames by default, and a call made where a framework subscribes for the user (a
// NestJS `ClientGrpc` method: grpc-js, Nest's client, then rxjs's subscribe chain) has more than
// that of library frames above the user's own. Only this report, off the hot path, looks deeper.
const STACK_DEPTH = 100;

interface CallSite {
  readonly functionName: string;
  readonly scriptName: string;
  readonly lineNumber: number;
  readonly column?: number;
  readonly columnNumber?: number;
}
const getCallSites = (util as unknown as { getCallSites?: (frames?: number, options?: { sourceMap?: boolean }) => CallSite[] }).getCallSites;

/**
 * The first frame outside ctxkit, Node and installed libraries, or `'unknown'`. ctxkit's frames
 * are told by their files, not by folder names: this file, and the file of the adapter that
 * called `reportMissingContext` (read from the call sites themselves, so that it holds
 * for the ESM and CJS builds and for sources). A user's own `packages/core/src` is user code.
 */
function userCallSite(): string {
  if (getCallSites === undefined) return 'unknown'; // a runtime without util.getCallSites()
  const sites = getCallSites(STACK_DEPTH, { sourceMap: true });
  // [0] this function, then this file's reporting functions, then the adapter that reports.
  const own = sites[0]?.scriptName;
  let first = 1;
  while (first < sites.length && sites[first]!.scriptName === own) first++;
  const adapter = sites[first]?.scriptName;
  // Called from user code directly (no adapter between), the caller itself is the site.
  return firstUserSite(sites, first + 1, own, adapter) ?? firstUserSite(sites, first, own, undefined) ?? 'unknown';
}

function firstUserSite(sites: readonly CallSite[], from: number, own: string | undefined, adapter: string | undefined): string | undefined {
  for (let i = from; i < sites.length; i++) {
    const site = sites[i]!;
    const file = site.scriptName;
    if (file === '' || file === own || file === adapter) continue;
    if (file.startsWith('node:') || /[\\/]node_modules[\\/]/.test(file)) continue;
    const name = site.functionName === '' ? '' : `${site.functionName} `;
    const where = `${file}:${site.lineNumber}:${site.column ?? site.columnNumber ?? 0}`;
    return name === '' ? where : `${name}(${where})`;
  }
  return undefined;
}

/**
 * Reports `what` being done outside any request context: throws {@link NoContextError}, warns
 * once per call site (with the call site, `process.emitWarning` code `CTXKIT_NO_CONTEXT`), or
 * does nothing; and publishes it on `ctxkit:missing-context` when someone subscribes, in every
 * mode. Off the hot path: only called when no context is found.
 */
export function reportMissingContext(mode: MissingContextMode, what: string): void {
  const publish = missingContextChannel.hasSubscribers;
  if (mode === 'ignore' && !publish) return;
  const site = userCallSite();
  if (publish) missingContextChannel.publish({ what, site, mode } satisfies MissingContextMessage);
  if (mode === 'ignore') return;
  const message =
    `ctxkit: ${what} outside any request context at ${site}; it carries no ids, deadline or ` +
    'cancellation. The context was lost above this call: run it inside a request, or wrap the ' +
    'callback that lost it with bindContext().';
  if (mode === 'throw') throw new NoContextError(message);
  if (warned.has(site) || warned.size > 1000) return;
  warned.add(site);
  process.emitWarning(message, { code: 'CTXKIT_NO_CONTEXT' });
}

/** Whether `ctx` was ended by its owner (its request was answered, its job or message finished). */
export function contextEnded(ctx: RequestContext): boolean {
  // Read as a field, not by class: another copy of core may have created the context.
  return (ctx as { _ended?: boolean })._ended === true;
}

/**
 * Reports `what` being done under a context that has already ended: a callback kept from a
 * finished request (a connection pool or emitter created inside one, a timer left behind) that now
 * runs, with that request's ids, for someone else. Throws {@link NoContextError}, warns once per
 * call site (`CTXKIT_ENDED_CONTEXT`, naming the call site and the request), or does nothing.
 * Work meant to outlive its request runs in `detach()`, whose context never ends.
 * Off the hot path: only called when the context has ended.
 */
export function reportEndedContext(mode: MissingContextMode, what: string, ctx: RequestContext): void {
  if (mode === 'ignore') return;
  const site = userCallSite();
  const message =
    `ctxkit: ${what} at ${site} under the context of request ${ctx.requestId} (trace ${ctx.traceId}), ` +
    'which has already ended; the call carries that request\'s ids. A callback kept from that ' +
    'request ran it: bind the callback where it is registered, or start work meant to outlive the ' +
    'request with detach().';
  if (mode === 'throw') throw new NoContextError(message);
  if (warnedEnded.has(site) || warnedEnded.size > 1000) return;
  warnedEnded.add(site);
  process.emitWarning(message, { code: 'CTXKIT_ENDED_CONTEXT' });
}

/**
 * The one check a transport makes before it sends: reports `what` done outside any context
 * (`reportMissingContext`) or under one that has ended (`reportEndedContext`); does
 * nothing (one field read) when `ctx` is live. The caller decides what to send without a context.
 * `target` (a method path, a subject) is appended to `what` only when there is something to
 * report: a live call builds no string.
 */
export function reportLostContext(mode: MissingContextMode, what: string, ctx: RequestContext | undefined, target?: string): void {
  if (ctx === undefined) reportMissingContext(mode, target === undefined ? what : `${what} ${target}`);
  else if (contextEnded(ctx)) reportEndedContext(mode, target === undefined ? what : `${what} ${target}`, ctx);
}
