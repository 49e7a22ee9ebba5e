import { describe, expect, it } from 'vitest';
import { reportMissingContext } from './adapter.js';
import { NoContextError } from './index.js';

describe('reportMissingContext', () => {
  it('throws, warns once per call site naming it, or stays silent', async () => {
    expect(() => reportMissingContext('throw', 'a gRPC call')).toThrow(NoContextError);
    expect(() => reportMissingContext('throw', 'a gRPC call')).toThrow(/a gRPC call outside any request context at .*lost-context\.test\.ts/);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 3; i++) reportMissingContext('warn', 'a fetch'); // one site
      reportMissingContext('warn', 'a fetch'); // another site
      reportMissingContext('ignore', 'a fetch');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toHaveLength(2);
    expect((warnings[0] as Error & { code: string }).code).toBe('CTXKIT_NO_CONTEXT');
    expect(warnings[0]!.message).toMatch(/lost-context\.test\.ts:\d+/);
  });
});
