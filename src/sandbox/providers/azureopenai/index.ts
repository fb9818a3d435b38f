/**
 * The `azureopenai` module: Azure OpenAI Global Batch (provider-apis-2.md §10), the OpenAI emulation at
 * `/azureopenai/openai` (the `AzureOpenAI` client's `endpoint` is `<url>/azureopenai`; `api-version` on every
 * request) and at `/azureopenai/openai/v1` (the v1 API, no `api-version`). `body.model` names a deployment:
 * any name is accepted unless the `models` setting lists the deployments. Results come in no guaranteed order.
 */
import { randomUUID } from 'node:crypto';
import type { OpenAIDialect } from '../openai/dialect';
import { ONLY_24H } from '../openai/dialect';
import { openAICompatibleModule } from '../openai/module';
import { authenticateAzure } from './auth';
import { sendAzureError } from './errors';

const MB = 1024 * 1024;

export const AZURE_OPENAI: OpenAIDialect = {
  name: 'azureopenai',
  basePath: '',
  apiRoots: ['/openai/v1', '/openai'],
  limits: { maxRequestsPerBatch: 100_000, maxBytesPerBatch: 200 * MB, requiresSingleModel: true, metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 } },
  completionWindow: ONLY_24H,
  batchList: 'paged',
  shuffleResults: true,
  authenticate: authenticateAzure,
  sendError: (res, err) => sendAzureError(res, err),
  requestIds: { headers: ['apim-request-id', 'x-request-id'], next: randomUUID },
  // The client rewrites `POST /batches` to a deployment's path when it has a deployment (or the body a model).
  extraRoutes: (h) => [{ method: 'POST', pattern: /^\/openai\/deployments\/[^/]+\/batches$/, handler: h.createBatch }],
};

export const azureopenai = openAICompatibleModule(AZURE_OPENAI);
