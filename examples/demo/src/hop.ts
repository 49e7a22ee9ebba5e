/** What one service saw of a request, as it reports it to the demo (the HopReport message). */
export type { Hop } from '@ctxkit-examples/shared';
import type { Hop } from '@ctxkit-examples/shared';

/** The services, from the edge inwards, with where each sits in the call tree. */
export const SERVICES = ['gateway', 'orders', 'inventory', 'billing', 'fulfilment'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** A message a service sends the demo over IPC. */
export type ServiceMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'hop-start' | 'hop'; readonly hop: Hop };

/** Whether `value` is a {@link ServiceMessage} (IPC input is checked, not trusted). */
export function isServiceMessage(value: unknown): value is ServiceMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as { type?: unknown; port?: unknown; hop?: { service?: unknown; traceId?: unknown } };
  if (m.type === 'ready') return typeof m.port === 'number';
  return (m.type === 'hop' || m.type === 'hop-start') && typeof m.hop?.service === 'string' && typeof m.hop.traceId === 'string';
}
