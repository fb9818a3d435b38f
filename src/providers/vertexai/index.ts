/**
 * Vertex AI batch prediction (`vertexai`), Gemini models: OpenAI chat requests as `{request}` lines in Cloud Storage,
 * a batch prediction job per part, its predictions joined back on request labels (./adapter.ts). Credentials: an API
 * key (express mode) or Application Default Credentials (./client.ts).
 */
import { providerInfo, type ProviderDefinition } from '../definition';
import { VertexAdapter, VERTEX_GCS_URIS_ENV } from './adapter';
import { VERTEX_STATUS_MAP } from './batch-object';
import { VERTEX_BASE_ENV, VERTEX_KEY_ENV, VERTEX_TOKEN_ENV } from './client';
import { STORAGE_EMULATOR_ENV } from './gcs';
import { VERTEX_LIMITS } from './limits';
import { VERTEX_OPTION_NAMES, parseVertexOptions, type VertexOptions } from './options';

export type { VertexOptions } from './options';

export const vertexai: ProviderDefinition<'vertexai', VertexOptions> = {
  name: 'vertexai',
  label: 'Vertex AI',
  capabilities: VERTEX_LIMITS,
  env: { apiKey: VERTEX_KEY_ENV, baseURL: VERTEX_BASE_ENV, accessToken: VERTEX_TOKEN_ENV, gcsUris: VERTEX_GCS_URIS_ENV, storage: STORAGE_EMULATOR_ENV },
  // The region's endpoint (https://<location>-aiplatform.googleapis.com), from the location.
  defaultBaseURL: null,
  baseHint: "Vertex AI's base URL is https://<location>-aiplatform.googleapis.com, without /v1",
  reservedMetadata: [],
  statusMap: VERTEX_STATUS_MAP,
  options: { names: VERTEX_OPTION_NAMES, parse: parseVertexOptions },
  createAdapter: () => new VertexAdapter(vertexai.capabilities, providerInfo(vertexai)),
};
