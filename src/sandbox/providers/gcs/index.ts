/**
 * The `gcs` module: a subset of the Cloud Storage JSON API v1 at `/gcs` (`routes.ts`), the store the `vertexai`
 * module reads its jobs' inputs from and writes their predictions to. Its base URL, `<url>/gcs`, is what Google's
 * libraries take as `STORAGE_EMULATOR_HOST` (they add `/storage/v1/...`, `/upload/storage/v1/...`,
 * `/download/storage/v1/...`). Any credential is accepted; errors are the JSON API's
 * `{"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}}`.
 */
import type { ProviderModule } from '../../kernel/provider';
import { authenticateGcs, sendGcsError } from './errors';
import { gcsRoutes } from './routes';
import { gcsStoreOf } from './store';

export { gcsStoreOf } from './store';

export const gcs: ProviderModule = {
  name: 'gcs',
  basePath: '',
  create(kernel) {
    const store = gcsStoreOf(kernel);
    return {
      name: 'gcs',
      routes: gcsRoutes({ kernel, store }),
      authenticate: (req, path, url) => authenticateGcs(req, path, url),
      sendError: (res, err) => sendGcsError(res, err),
      // The JSON API sends no request id header of its own (uploads carry `x-guploader-uploadid`, not needed here).
      requestIds: { headers: [], next: () => '' },
      store: {
        init: () => store.init(),
        // An object store: uploads stand for files; no batches.
        stats: () => ({ filesCreated: store.counters.uploads, batchesCreated: 0, batchCancels: 0, batchesByStatus: {}, storage: store.stats() }),
        drain: async () => undefined,
      },
    };
  },
};
