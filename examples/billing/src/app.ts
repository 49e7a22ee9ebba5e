import { ctxkit, ctxkitErrorHandler } from '@ctxkit/express';
import express, { type Express } from 'express';
import { withHop } from '@ctxkit-examples/shared';
import { log } from './log.ts';
import { issueInvoice, parseCharge } from './invoices.ts';

/** Builds the billing service: a legacy JSON-over-HTTP API called by orders. */
export function buildApp(): Express {
  const app = express();
  // An internal service: it trusts its peers' user id and keys (the gateway vouched for them).
  app.use(ctxkit({ trust: 'internal' }));
  app.use(express.json({ limit: '16kb' }));

  app.post('/invoices', async (req, res) => {
    const charge = parseCharge(req.body);
    if (charge === undefined) {
      res.status(400).json({ code: 'INVALID_ARGUMENT', message: 'expected { orderId, amountCents, workMs? }' });
      return;
    }
    const out = await withHop('billing', async (hop) => {
      const invoiceId = await issueInvoice(charge);
      log.info({ orderId: charge.orderId, invoiceId }, 'invoice issued');
      return { invoiceId, hop: hop.snapshot('OK') };
    });
    res.status(201).json(out);
  });

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  // Errors (a deadline: 504, a cancel: 499, anything else: 500) answered as ctxkit's JSON body.
  app.use(ctxkitErrorHandler({ logger: log }));
  return app;
}
