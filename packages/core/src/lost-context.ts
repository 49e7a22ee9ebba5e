import { NoContextError } from './errors.js';

/** What to do when a call that should carry a context is made outside any. */
export type MissingContextMode = 'throw' | 'warn' | 'ignore';

// Frames of ctxkit itself, of Node, of built-ins (`new Promise (<anonymous>)`, under rxjs's
// `lastValueFrom`) and of installed libraries do not say where the user lost it.
const NOT_USER = /\((?:node:|internal\/)|\(<anonymous>\)$|^\s+at (?:node:|internal\/)|[\\/]node_modules[\\/]|[\\/]@ctxkit[\\/]|[\\/]packages[\\/][\w-]+[\\/](?:dist|src)[\\/]/;
const TEST_FILE = /\.test\.[cm]?[jt]s:/;
const warned = new Set<string>();
// Node keeps 10 frames by default, and a call made where a framework subscribes for the user (a
// NestJS `ClientGrpc` method: grpc-js, Nest's client, then rxjs's subscribe chain) has more than
// that of library frames above the user's own. Only this report, off the hot path, looks deeper.
const STACK_DEPTH = 100;

/** The first stack frame outside ctxkit, Node and node_modules, or `'unknown'`. */
function userCallSite(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = STACK_DEPTH;
  let stack: string;
  try {
    stack = new Error().stack ?? '';
  } finally {
    Error.stackTraceLimit = limit;
  }
  const lines = stack.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.includes(' at ') && (!NOT_USER.test(line) || TEST_FILE.test(line))) return line.trim().replace(/^at /, '');
  }
  return 'unknown';
}

/**
 * Reports `what` being done outside any request context: throws {@link NoContextError}, warns
 * once per call site (with the call site, `process.emitWarning` code `CTXKIT_NO_CONTEXT`), or
 * does nothing. Off the hot path: only called when no context is found.
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
