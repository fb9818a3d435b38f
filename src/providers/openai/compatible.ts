/**
 * A provider that speaks OpenAI's Files and Batches APIs is a configuration of the OpenAI adapter, not a copy of
 * it: a name, a label, its env variables, its default base URL, its limits and, when it needs one, its own client.
 */
import OpenAI from 'openai';
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
    options: config.options ?? (NO_OPTIONS as unknown as ProviderOptionsSpec<O>),
    createAdapter: () =>
      new OpenAIAdapter({
        capabilities: config.limits,
        info: providerInfo(definition),
        client: config.client ?? compatibleClient,
        listsNewestFirst: config.listsNewestFirst ?? false,
      }),
  };
  return definition;
}
