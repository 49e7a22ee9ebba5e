// What every example service shares. Demo instrumentation and plumbing, not business code.
export { type Hop, type HopRecorder, reportReady, statusOf, withHop } from './hop.ts';
export { serviceLog } from './log.ts';
export { serveGrpc } from './serve.ts';
export { onShutdown } from './shutdown.ts';
