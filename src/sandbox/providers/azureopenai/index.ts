/**
 * The `azureopenai` module: Azure OpenAI Global Batch (provider-apis-2.md §10), the OpenAI emulation at
 * `/azureopenai/openai` (the `AzureOpenAI` client's `endpoint` is `<url>/azureopenai`; `api-version` on every
 * request) and at `/azureopenai/openai/v1` (the v1 API, no `api-version`). `body.model` names a deployment:
 * any name is accepted unless the `models` setting lists the deployments. Results come in no guaranteed order.
 *
 * Endpoints as Azure spells them (`AZURE_ENDPOINTS`): the create's `endpoint` and the lines' `url` with or without
 * `/v1`, and the input file decides the API the batch runs on.
 */
import { randomUUID } from 'node:crypto';
import type { EndpointSpelling, OpenAIDialect } from '../openai/dialect';
import { ONLY_24H } from '../openai/dialect';
import { openAICompatibleModule } from '../openai/module';
import { BATCH_ENDPOINTS } from '../openai/wire';
import { authenticateAzure } from './auth';
import { sendAzureError } from './errors';

const MB = 1024 * 1024;

/**
 * Azure's documentation creates batches with `endpoint: "/chat/completions"` on both its APIs, the api-version
 * one (Azure/azure-rest-api-specs authoring/stable/2024-10-21 `examples/post_batch.json`; MicrosoftDocs/azure-ai-docs
 * `articles/ai-foundry/openai/includes/batch/batch-python.md`) and the v1 one ("While passing this parameter is
 * required, the system will read your input file to determine if the chat completions or responses API is
 * needed"), and writes lines with `"url": "/chat/completions"` (api-version guide) or `"/v1/chat/completions"`
 * (current guide). So either spelling names the endpoint, and the lines decide which API runs.
 */
export const AZURE_ENDPOINTS: EndpointSpelling = {
  canonical(value) {
    const rest = value.startsWith('/v1/') ? value.slice(3) : value;
    const endpoint = `/v1${rest}`;
    return rest.startsWith('/') && BATCH_ENDPOINTS.includes(endpoint) ? endpoint : null;
  },
  accepted: BATCH_ENDPOINTS.map((e) => `${e.slice(3)}, ${e}`).join(', '),
  fileDecides: true,
};

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
  endpoints: AZURE_ENDPOINTS,
};

export const azureopenai = openAICompatibleModule(AZURE_OPENAI);
