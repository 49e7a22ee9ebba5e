import type { Options } from '@grpc/proto-loader';

/** The proto-loader options the generated types were made for (keep in step with scripts/gen.ts). */
export const LOADER_OPTIONS: Options = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};
