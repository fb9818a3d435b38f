/**
 * The `nebius` module: Nebius Token Factory's (formerly AI Studio) batch API at `/nebius/v1`, the OpenAI emulation
 * with Nebius's rules (provider-apis-3.md section 3; https://docs.tokenfactory.nebius.com/ai-models-inference/batch-inference):
 * `24h` only, one model per file, up to 5,000,000 requests and 10 GB per file (the catalog's limits).
 */
import { authenticateBearer } from '../openai/auth';
import { ONLY_24H, type OpenAIDialect } from '../openai/dialect';
import { sendOpenAIError } from '../openai/errors';
import { newRequestId } from '../openai/ids';
import { openAICompatibleModule } from '../openai/module';

export const NEBIUS: OpenAIDialect = {
  name: 'nebius',
  basePath: '/v1',
  apiRoots: ['/v1'],
  // The catalog (src/providers/nebius/limits.ts) lists Nebius: these are only its fallback.
  limits: { maxRequestsPerBatch: 5_000_000, maxBytesPerBatch: 10 * 1000 ** 3, requiresSingleModel: true, metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 } },
  completionWindow: ONLY_24H,
  batchList: 'paged',
  shuffleResults: false,
  authenticate: (req, _path, _url, expected) => authenticateBearer(req, expected),
  sendError: (res, err) => sendOpenAIError(res, err),
  requestIds: { headers: ['x-request-id'], next: newRequestId },
};

export const nebius = openAICompatibleModule(NEBIUS);
