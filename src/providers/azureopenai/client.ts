/**
 * The SDK client of an Azure OpenAI batch. The resource endpoint (`https://RES.openai.azure.com`, or its
 * `/openai` base) gets the `openai` package's `AzureOpenAI`: `api-key` header and `api-version` on every request.
 * It is built WITHOUT `deployment`: with one, the SDK rewrites `POST /batches` to `/deployments/{d}/batches`,
 * which is not the Batch API. A base ending in `/openai/v1` is Azure's v1 API: a plain `OpenAI` client (Bearer
 * key, no api-version).
 */
import OpenAI, { AzureOpenAI } from 'openai';
import { compatibleClient } from '../openai/compatible';
import type { SdkClientOptions } from '../sdk-clients';
import { ProviderError, type ProviderConnection } from '../types';
import { DEFAULT_AZURE_API_VERSION } from './options';

export const AZURE_ENDPOINT_ENV = 'AZURE_OPENAI_ENDPOINT';
export const AZURE_API_VERSION_ENV = 'OPENAI_API_VERSION';

/** The api-version of a batch: its `apiVersion` option, else the worker's OPENAI_API_VERSION, else the default. */
export function azureApiVersion(conn: ProviderConnection): string {
  const option = conn.options?.apiVersion;
  return typeof option === 'string' && option !== '' ? option : process.env[AZURE_API_VERSION_ENV] || DEFAULT_AZURE_API_VERSION;
}

export function azureClient(options: SdkClientOptions, conn: ProviderConnection): OpenAI {
  const { baseURL, ...rest } = options;
  if (!baseURL) {
    throw new ProviderError(
      'bad_endpoint',
      `No Azure OpenAI endpoint: pass --api-base on the CLI or apiBase in the library (https://RESOURCE.openai.azure.com), or set ${AZURE_ENDPOINT_ENV} in the worker environment.`,
    );
  }
  const base = baseURL.replace(/\/+$/, '');
  if (base.endsWith('/openai/v1')) return compatibleClient({ ...rest, baseURL: base });
  // `baseURL`, never `endpoint`: the SDK would otherwise take OPENAI_BASE_URL (meant for OpenAI) as its base.
  return new AzureOpenAI({
    organization: null,
    project: null,
    ...rest,
    baseURL: base.endsWith('/openai') ? base : `${base}/openai`,
    apiVersion: azureApiVersion(conn),
  });
}
