import { packageBuild } from '../../tsdown.base.ts';

// Entries are named after their subpath; `fetch` and `diagnostics` re-export modules of the same name.
export default packageBuild({
  index: 'src/index.ts',
  adapter: 'src/adapter.ts',
  otel: 'src/otel.ts',
  fetch: 'src/fetch-entry.ts',
  diagnostics: 'src/diagnostics-entry.ts',
});
