/**
 * The `vertexai` module: Vertex AI batch prediction ("Gemini Enterprise Agent Platform"; docs/provider-apis-3.md
 * section 2) at `/vertexai`, as @google/genai and google-genai reach it in Vertex mode with
 * `httpOptions.baseUrl` / `base_url` set to `<url>/vertexai/` (both keep the path and add
 * `/v1beta1/projects/{p}/locations/{l}/...`). Jobs read JSONL from the sandbox's Cloud Storage (`gs://` URIs,
 * served by the `gcs` module), answer Gemini lines with the Gemini stand-in and Claude lines with the Claude one,
 * and write `predictions.jsonl` back to it. Keys come as `x-goog-api-key` or a bearer token; errors are Google's
 * `{"error": {"code", "message", "status"}}`.
 */
import path from 'node:path';
import { limitsOf } from '../../kernel/limits';
import type { ProviderModule } from '../../kernel/provider';
import type { VertexDeps } from './dialects';
import { authenticateVertex, sendVertexError } from './errors';
import { vertexRoutes } from './routes';
import { VertexJobStore } from './store';

export type { GenerateContentResponder, MessagesResponder, ObjectStorage, VertexDeps } from './dialects';

/** A Gemini batch job takes up to 200,000 requests in a JSONL file of up to 1 GB (Vertex's batch quotas page). */
const DEFAULT_LIMITS = { maxRequestsPerBatch: 200_000, maxBytesPerBatch: 1024 * 1024 * 1024, requiresSingleModel: true, metadata: null };

/** The module, given the other modules' parts it speaks through (see `dialects.ts`). */
export function vertexaiModule(deps: VertexDeps): ProviderModule {
  return {
    name: 'vertexai',
    basePath: '',
    create(kernel) {
      const { options } = kernel;
      const limits = limitsOf('vertexai', DEFAULT_LIMITS);
      const store = new VertexJobStore(
        path.join(kernel.dataDir, 'vertexai'),
        kernel.tmpDir,
        kernel.now,
        { rate: options.rate, validationMs: options.validationMs, cancellingMs: options.cancellingMs },
        () => deps.storage(kernel),
        { gemini: deps.gemini, claude: deps.claude },
        { maxRequests: options.maxRequests ?? limits.maxRequestsPerBatch, maxBytes: options.maxBytes ?? limits.maxBytesPerBatch },
      );
      return {
        name: 'vertexai',
        routes: vertexRoutes({ kernel, store }),
        authenticate: (req, _path, url) => authenticateVertex(req, url, options.apiKey),
        sendError: (res, err) => sendVertexError(res, err),
        // Google's APIs send no request id header.
        requestIds: { headers: [], next: () => '' },
        store: {
          init: () => store.init(),
          // Vertex has no files of its own (inputs and outputs are Cloud Storage objects, counted by the gcs module).
          stats: () => ({ filesCreated: 0, ...store.counters, batchesByStatus: store.countByStatus() }),
          drain: () => store.drain(),
        },
      };
    },
  };
}
