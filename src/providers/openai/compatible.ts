/**
 * A provider that speaks OpenAI's Files and Batches APIs is a configuration of the OpenAI adapter, not a copy of
 * it: a name, a label, its env variables, its default base URL, its limits and, when it needs one, its own client,
 * the `endpoint` its creates take, its way of cancelling and its own statuses.
 */
import OpenAI from 'openai';
import type { BatchStatus } from '../../contract/batch';
import type { ProviderCapabilities } from '../capabilities';
import { NO_OPTIONS, providerInfo, type NoOptions, type ProviderDefinition, type ProviderOptionsSpec } from '../definition';
import type { SdkClientOptions } from '../sdk-clients';
import type { ProviderConnection } from '../types';
import { KEY_METADATA, OpenAIAdapter } from './adapter';

export interface OpenAICompatibleConfig<N extends string, O extends object> {
  name: N;
  label: string;
  /** The worker's variable of the API key, e.g. `GROQ_API_KEY`. */
  keyEnv: string;
  /** The worker's variable of the base URL, e.g. `GROQ_BASE_URL`. */
  baseEnv: string;
  /** More variables the provider reads (e.g. Azure's `apiVersion: 'OPENAI_API_VERSION'`). */
  moreEnv?: Record<string, string>;
  /** The base URL when neither `apiBase` nor `baseEnv` gives one; null when it must be given. */
  defaultBaseURL: string | null;
  baseHint?: string;
  /** The folder's limits (its `limits.ts`). */
  limits: ProviderCapabilities<N>;
  /** Its own options (default: none). */
  options?: ProviderOptionsSpec<O>;
  /** Builds the SDK client (default: an `OpenAI` client at the resolved base URL, see `compatibleClient`). */
  client?(options: SdkClientOptions, conn: ProviderConnection): OpenAI;
  /** Files and batches are listed newest first (default false: not known, so searches do not rely on it). */
  listsNewestFirst?: boolean;
  /** The `endpoint` a create sends for the batch's endpoint, where the provider spells it otherwise (Azure); default: the same. */
  createEndpoint?(endpoint: string): string;
  /** How a batch is cancelled: `POST /batches/{id}/cancel` (OpenAI's, the default) or `DELETE /batches/{id}` (Cerebras). */
  cancel?: 'post' | 'delete';
  /** Statuses beyond OpenAI's and the OpenAI status each reads as (Cerebras's `queued`); OpenAI's own pass as they are. */
  statusMap?: Readonly<Record<string, BatchStatus>>;
}

/**
 * An `OpenAI` client for a provider other than OpenAI: the worker's OPENAI_ORG_ID / OPENAI_PROJECT_ID are not
 * sent there (the SDK would read them), unless `clientArgs` set them.
 */
export function compatibleClient(options: SdkClientOptions): OpenAI {
  return new OpenAI({ organization: null, project: null, ...options });
}

export function openAICompatible<N extends string, O extends object = NoOptions>(config: OpenAICompatibleConfig<N, O>): ProviderDefinition<N, O> {
  const definition: ProviderDefinition<N, O> = {
    name: config.name,
    label: config.label,
    capabilities: config.limits,
    env: { apiKey: config.keyEnv, baseURL: config.baseEnv, ...config.moreEnv },
    defaultBaseURL: config.defaultBaseURL,
    ...(config.baseHint ? { baseHint: config.baseHint } : {}),
    reservedMetadata: [KEY_METADATA],
    ...(config.statusMap ? { statusMap: config.statusMap } : {}),
    options: config.options ?? (NO_OPTIONS as unknown as ProviderOptionsSpec<O>),
    createAdapter: () =>
      new OpenAIAdapter({
        capabilities: config.limits,
        info: providerInfo(definition),
        client: config.client ?? compatibleClient,
        listsNewestFirst: config.listsNewestFirst ?? false,
        ...(config.createEndpoint ? { createEndpoint: config.createEndpoint } : {}),
        ...(config.cancel ? { cancel: config.cancel } : {}),
        ...(config.statusMap ? { statusMap: config.statusMap } : {}),
      }),
  };
  return definition;
}
