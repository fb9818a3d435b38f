/** The `openai` module: OpenAI's Files and Batches API at `/openai/v1` (and the prefix-less `/v1` alias). */
import { authenticateBearer } from './auth';
import { ONLY_24H, type OpenAIDialect } from './dialect';
import { sendOpenAIError } from './errors';
import { newRequestId } from './ids';
import { openAICompatibleModule } from './module';

const MB = 1024 * 1024;

export const OPENAI: OpenAIDialect = {
  name: 'openai',
  basePath: '/v1',
  apiRoots: ['/v1'],
  limits: { maxRequestsPerBatch: 50_000, maxBytesPerBatch: 200 * MB, requiresSingleModel: true, metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 } },
  completionWindow: ONLY_24H,
  batchList: 'paged',
  shuffleResults: false,
  authenticate: (req, _path, _url, expected) => authenticateBearer(req, expected),
  sendError: (res, err) => sendOpenAIError(res, err),
  requestIds: { headers: ['x-request-id'], next: newRequestId },
};

export const openai = openAICompatibleModule(OPENAI);
