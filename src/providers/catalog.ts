/**
 * What each provider can do and the limits it enforces: the one table every other module reads (validation,
 * splitting, the adapters, the sandbox defaults), built from each provider folder's `limits.ts`. Pure data, safe
 * anywhere: no SDK imports (the registry, `./registry`, adds the rest of each provider's definition).
 */
import { ANTHROPIC_LIMITS } from './anthropic/limits';
import { AZURE_OPENAI_LIMITS } from './azureopenai/limits';
import { GEMINI_LIMITS } from './gemini/limits';
import { GROQ_LIMITS } from './groq/limits';
import { MISTRAL_LIMITS } from './mistral/limits';
import { OPENAI_LIMITS } from './openai/limits';
import { OPENAI_COMPATIBLE_LIMITS } from './openai-compatible/limits';
import type { ProviderName } from './registry';
import { TOGETHER_LIMITS } from './together/limits';
import { XAI_LIMITS } from './xai/limits';

export type { ProviderName } from './registry';
export { OPENAI_ENDPOINTS } from './openai/limits';

/** How one request line looks: OpenAI's `{custom_id, method, url, body}`, or a provider's native line. */
export interface LineShape {
  /** The field holding the request body: `body`, or a native line's own (Anthropic's `params`). */
  payload: string;
  /** The line carries OpenAI's `method` and `url`, checked against the batch endpoint. */
  envelope: boolean;
  /** The line's fields, for messages: `{"custom_id", "params"}`. */
  shape: string;
}

/** OpenAI's batch line, the default for every endpoint. */
export const OPENAI_LINE: LineShape = { payload: 'body', envelope: true, shape: '{"custom_id", "method", "url", "body"}' };

export interface ProviderCapabilities<N extends string = string> {
  name: N;
  /** Endpoints accepted in `createBatch(provider, file, endpoint)`. */
  endpoints: readonly string[];
  /** Every request of one provider batch must use the same model. */
  requiresSingleModel: boolean;
  /** Most requests in one provider batch. */
  maxRequestsPerBatch: number;
  /** Most bytes of request data sent for one provider batch. */
  maxBytesPerBatch: number;
  /** Accepted `completion_window` values; the first is the default. */
  completionWindows: readonly string[];
  /** Provider metadata limits on the batch object (pairs, key length, value length), when it has metadata. */
  metadata: { maxPairs: number; maxKeyLength: number; maxValueLength: number } | null;
  /** Endpoints whose input lines are the provider's own shape instead of OpenAI's (absent: none). */
  nativeLines?: Readonly<Record<string, LineShape>>;
  /** Longest `custom_id` the provider takes, in characters (absent: no limit anybatch knows of). */
  maxCustomIdLength?: number;
  /** The queue limits the provider publishes: admission control's defaults (absent: none published). */
  admission?: QueueLimits;
}

/**
 * A provider's published limits on what may wait in its batch queue at once, per organization (and per model when
 * `perModel`): the defaults of admission control (src/admission), which a batch's `admission` option overrides.
 */
export interface QueueLimits {
  /** Prompt tokens of the batches not yet ended. */
  enqueuedTokens?: number;
  /** Requests of the batches not yet ended. */
  requests?: number;
  /** Batches not yet ended. */
  batches?: number;
  /** The limits hold per model (else across the provider's models). */
  perModel: boolean;
  /** Where the numbers come from (the tier they are for). */
  source: string;
}

/** Every provider's capabilities, by name (the compiler checks it against the registry's names). */
export const PROVIDERS = {
  openai: OPENAI_LIMITS,
  anthropic: ANTHROPIC_LIMITS,
  azureopenai: AZURE_OPENAI_LIMITS,
  groq: GROQ_LIMITS,
  xai: XAI_LIMITS,
  gemini: GEMINI_LIMITS,
  mistral: MISTRAL_LIMITS,
  together: TOGETHER_LIMITS,
  'openai-compatible': OPENAI_COMPATIBLE_LIMITS,
} satisfies { [P in ProviderName]: ProviderCapabilities<P> };

export function isProviderName(name: string): name is ProviderName {
  return Object.prototype.hasOwnProperty.call(PROVIDERS, name);
}

/** The shape of `endpoint`'s input lines at this provider. */
export function lineShape(capabilities: ProviderCapabilities, endpoint: string): LineShape {
  return capabilities.nativeLines?.[endpoint] ?? OPENAI_LINE;
}
