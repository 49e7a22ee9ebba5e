import { serviceLog } from '@ctxkit-examples/shared';

/** This service's logger: JSON lines on stdout, each carrying the request's trace, request and user ids. */
export const log = serviceLog('billing');
