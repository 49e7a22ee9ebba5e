import { describe, expect, it } from 'vitest';
import { OutgoingCall } from './adapter.js';
import { CancelledError, createContext, DeadlineExceededError, Status } from './index.js';

/** The smallest transport: records what it was cancelled with. */
class RecordingCall extends OutgoingCall {
  reasons: unknown[] = [];
  cancel(reason: unknown): void {
    this.reasons.push(reason);
  }
}

describe('OutgoingCall', () => {
  it("sets the call's deadline to the earliest of the context's, the caller's and a timeout", () => {
    const now = Date.now();
    const ctx = createContext({ deadline: now + 1000 });
    const call = new RecordingCall();
    expect(call.deadline).toBeUndefined();
    expect(call.setDeadline(ctx, undefined, undefined, now)).toBe(now + 1000);
    expect(call.setDeadline(ctx, now + 500, undefined, now)).toBe(now + 500);
    expect(call.setDeadline(ctx, now + 500, 200, now)).toBe(now + 200);
    expect(call.deadline).toBe(now + 200);
    expect(call.setDeadline(undefined, undefined, undefined, now)).toBeUndefined();
    ctx.end();
  });

  it('over gRPC never sets a deadline further than grpc-js servers can read (2^31-1 ms, less a second)', () => {
    const now = Date.now();
    const far = now + 100 * 86_400_000;
    expect(new RecordingCall('grpc').setDeadline(undefined, far, undefined, now)).toBe(now + 2 ** 31 - 1 - 1000);
    expect(new RecordingCall('http').setDeadline(undefined, far, undefined, now)).toBe(far);
  });

  it('fails a call with no time left without sending it, and names the gRPC status of an abort', () => {
    const now = Date.now();
    const call = new RecordingCall('grpc');
    call.setDeadline(undefined, now, undefined, now);
    const early = call.start(undefined, undefined, now);
    expect(early).toBeInstanceOf(DeadlineExceededError);
    expect(call.abortStatus(early)).toEqual({ code: Status.DEADLINE_EXCEEDED, details: (early as Error).message });
    expect(call.abortStatus(new CancelledError('client disconnected')).code).toBe(Status.CANCELLED);
    expect(call.abortStatus(new Error('caller gave up'))).toEqual({ code: Status.CANCELLED, details: 'cancelled by the request context' });
  });

  it("is aborted with the context's reason and lets go once released", () => {
    const ctx = createContext();
    const call = new RecordingCall();
    call.setDeadline(ctx, undefined, undefined, Date.now());
    expect(call.start(ctx, undefined, Date.now())).toBeUndefined();
    const reason = new CancelledError('client disconnected');
    ctx.cancel(reason);
    expect(call.reasons).toEqual([reason]);
    expect(call.released).toBe(true);
    ctx.end();
  });
});
