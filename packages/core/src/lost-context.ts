import * as util from 'node:util';
import { NoContextError } from './errors.js';

/** What to do when a call that should carry a context is made outside any. */
export type MissingContextMode = 'throw' | 'warn' | 'ignore';

// Warned call sites: bounded, and only touched when a call has no context (never a request's path).
const warned = new Set<string>();
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
 * called {@link reportMissingContext} (read from the call sites themselves, so that it holds
 * for the ESM and CJS builds and for sources). A user's own `packages/core/src` is user code.
 */
function userCallSite(): string {
  if (getCallSites === undefined) return 'unknown'; // a runtime without util.getCallSites()
  const sites = getCallSites(STACK_DEPTH, { sourceMap: true });
  // [0] this function, [1] reportMissingContext, [2] the adapter that reports.
  const own = sites[0]?.scriptName;
  const adapter = sites[2]?.scriptName;
  for (let i = 3; i < sites.length; i++) {
    const site = sites[i]!;
    const file = site.scriptName;
    if (file === '' || file === own || file === adapter) continue;
    if (file.startsWith('node:') || /[\\/]node_modules[\\/]/.test(file)) continue;
    const name = site.functionName === '' ? '' : `${site.functionName} `;
    const where = `${file}:${site.lineNumber}:${site.column ?? site.columnNumber ?? 0}`;
    return name === '' ? where : `${name}(${where})`;
  }
  return 'unknown';
}

/**
 * Reports `what` being done outside any request context: throws {@link NoContextError}, warns
 * once per call site (with the call site, `process.emitWarning` code `CTXKIT_NO_CONTEXT`), or
 * does nothing. Call it from the adapter's own code (the call site named is the first frame
 * outside it, ctxkit, Node and node_modules). Off the hot path: only called when no context
 * is found.
 */
export function reportMissingContext(mode: MissingContextMode, what: string): void {
  if (mode === 'ignore') return;
  const site = userCallSite();
  const message =
    `ctxkit: ${what} outside any request context at ${site}; it carries no ids, deadline or ` +
    'cancellation. The context was lost above this call: run it inside a request, or wrap the ' +
    'callback that lost it with bindContext().';
  if (mode === 'throw') throw new NoContextError(message);
  if (warned.has(site) || warned.size > 1000) return;
  warned.add(site);
  process.emitWarning(message, { code: 'CTXKIT_NO_CONTEXT' });
}
