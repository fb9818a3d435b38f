/**
 * Azure OpenAI Global Batch (docs/provider-apis-2.md section 10): OpenAI's Files and Batches APIs at a resource's
 * `/openai` path, through the `openai` package's `AzureOpenAI` client (see ./client.ts). `body.model` is the
 * Global-Batch deployment's name, the same on every line; output comes in no guaranteed order (results are
 * matched by custom_id). The idempotency key travels in the batch's metadata, as on OpenAI.
 */
import { openAICompatible } from '../openai/compatible';
import { AZURE_API_VERSION_ENV, AZURE_ENDPOINT_ENV, azureClient } from './client';
import { AZURE_OPENAI_LIMITS } from './limits';
import { AZURE_OPENAI_OPTION_NAMES, parseAzureOpenAIOptions, type AzureOpenAIOptions } from './options';

export type { AzureOpenAIOptions } from './options';

/**
 * The `endpoint` an Azure batch is created with: `/chat/completions`, as Azure documents it on both its APIs, the
 * api-version one (Azure/azure-rest-api-specs authoring/stable/2024-10-21 `examples/post_batch.json`) and the v1
 * one ("While passing this parameter is required, the system will read your input file to determine if the chat
 * completions or responses API is needed": MicrosoftDocs/azure-ai-docs `includes/batch/batch-python.md`, also for
 * a file of `/v1/responses` lines). The lines keep their `/v1/...` urls, which the current guide writes.
 */
export function azureCreateEndpoint(_endpoint: string): string {
  return '/chat/completions';
}

export const azureopenai = openAICompatible<'azureopenai', AzureOpenAIOptions>({
  name: 'azureopenai',
  label: 'Azure OpenAI',
  keyEnv: 'AZURE_OPENAI_API_KEY',
  baseEnv: AZURE_ENDPOINT_ENV,
  moreEnv: { apiVersion: AZURE_API_VERSION_ENV },
  // Every resource has its own endpoint.
  defaultBaseURL: null,
  baseHint: 'Azure OpenAI base URLs are the resource endpoint https://RESOURCE.openai.azure.com (or its /openai/v1 for the v1 API)',
  limits: AZURE_OPENAI_LIMITS,
  options: { names: AZURE_OPENAI_OPTION_NAMES, parse: parseAzureOpenAIOptions },
  client: azureClient,
  createEndpoint: azureCreateEndpoint,
});
