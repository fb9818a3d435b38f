/**
 * The `cerebras` module: Cerebras's batch API (Private Preview) at `/cerebras/v1`, the OpenAI emulation with
 * Cerebras's differences (provider-apis-3.md section 3; https://inference-docs.cerebras.ai/api-reference/batch/):
 * - cancel is `DELETE /v1/batches/{id}` (there is no `POST .../cancel`), answering with the batch, `cancelling`;
 * - a validated batch waits `queued` (as long as its validation took) before it runs `in_progress`;
 * - metadata values may be lists of strings (`{"custom_tags": ["legal-review", "q3"]}`), as well as strings;
 * - a batch holds 10 to 50,000 requests ("Minimum 10 requests"): fewer fail it at validation (the error's code and
 *   words are the sandbox's own: Cerebras documents the bound, not the error);
 * - `24h` only, `/v1/chat/completions` only, 200 MB per file (the catalog's limits).
 */
import { authenticateBearer } from '../openai/auth';
import { ONLY_24H, type OpenAIDialect } from '../openai/dialect';
import { sendOpenAIError } from '../openai/errors';
import { newRequestId } from '../openai/ids';
import { openAICompatibleModule } from '../openai/module';

const MB = 1024 * 1024;

export const CEREBRAS: OpenAIDialect = {
  name: 'cerebras',
  basePath: '/v1',
  apiRoots: ['/v1'],
  // The catalog (src/providers/cerebras/limits.ts) lists Cerebras: these are only its fallback.
  limits: { maxRequestsPerBatch: 50_000, maxBytesPerBatch: 200 * MB, requiresSingleModel: false, metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 } },
  completionWindow: ONLY_24H,
  batchList: 'paged',
  shuffleResults: false,
  authenticate: (req, _path, _url, expected) => authenticateBearer(req, expected),
  sendError: (res, err) => sendOpenAIError(res, err),
  requestIds: { headers: ['x-request-id'], next: newRequestId },
  cancel: 'delete',
  queued: true,
  metadataLists: true,
  minRequestsPerBatch: 10,
};

export const cerebras = openAICompatibleModule(CEREBRAS);
