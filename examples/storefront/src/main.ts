// The storefront: a NestJS app (Fastify adapter) in front of the inventory service.
// `npm run build && npm start` (Nest's decorators need a compile step; the tests run the sources).
import { createStorefront } from './app.ts';

const app = await createStorefront({ inventoryAddr: process.env.INVENTORY_ADDR ?? '127.0.0.1:50052' });
app.enableShutdownHooks();
await app.listen(Number(process.env.STOREFRONT_PORT ?? 3004), '127.0.0.1');
console.log(`storefront listening on ${await app.getUrl()}`);
