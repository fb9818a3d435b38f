/**
 * The shape of a provider's facts: what it can do and the limits it enforces. Types and one constant, no imports:
 * each provider folder's `limits.ts` fills it in, and the catalog (`./catalog`) gathers them.
 */

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
  /**
   * The custom_ids the provider takes (absent: any string, as far as anybatch knows). Its adapter remaps the ones it
   * would refuse and maps them back in the results (src/providers/custom-ids.ts): a user's ids are never refused for
   * this rule, and the splitter counts a remapped id at its longest (the adapter's `sentBytes`).
   */
  customIds?: CustomIdRule;
  /** The queue limits the provider publishes: admission control's defaults (absent: none published). */
  admission?: QueueLimits;
  /**
   * Longest line of the provider's results that anybatch reads, in bytes: a longer one is dropped as it arrives
   * (never buffered whole) and becomes a `malformed_result` error line for its request (src/results/malformed.ts).
   * Absent: `DEFAULT_MAX_RESULT_LINE_BYTES` there.
   */
  maxResultLineBytes?: number;
  /**
   * Fewest requests one provider batch may hold (absent: one). A batch with fewer is refused before anything starts;
   * the splitter never cuts a part below it.
   */
  minRequestsPerBatch?: number;
  /** The failure codes of its batches worth submitting again (src/providers/batch-failures.ts). */
  failures: FailureCodes;
  /** Where its prices come from, and its batch discount (src/cost). */
  pricing: Pricing;
}

/** What custom_ids a provider takes. */
export interface CustomIdRule {
  /** Longest id, in characters (code points). */
  maxLength: number;
  /**
   * The characters an id may hold, as the body of a regex character class (`a-zA-Z0-9_-`); absent: any. Remapped ids
   * (`h_` and base32, a `_<n>` suffix on a collision) must be among them.
   */
  characters?: string;
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

/**
 * The error codes of a provider's failed batches (and the phrases of its refused creates) that are not the requests'
 * fault and are worth submitting again: "queue limit" (its queue for the organization or model is full: wait, then
 * resubmit) and "too large" (the part is over its real per-batch limit: re-split it). Read by
 * src/providers/batch-failures.ts.
 */
export interface FailureCodes {
  /** `errors.data[].code` values of a failed batch meaning the queue is full. */
  queueLimit: readonly string[];
  /** `errors.data[].code` values of a failed batch meaning it holds more than the provider takes. */
  tooLarge: readonly string[];
  /** Phrases of a refused create's message meaning it holds more than the provider takes (lower case). */
  tooLargeMessages: readonly string[];
}

/** OpenAI's batch error codes, also those of the providers whose batch APIs are OpenAI's (Azure, Groq, the batch clouds). */
export const OPENAI_FAILURE_CODES: FailureCodes = {
  queueLimit: ['token_limit_exceeded', 'request_limit_exceeded', 'batch_limit_exceeded'],
  tooLarge: ['too_many_tasks', 'file_too_large', 'max_requests_exceeded', 'max_file_size_exceeded'],
  tooLargeMessages: ['too many requests in', 'more than the maximum', 'file is too large', 'exceeds the maximum'],
};

/** A provider whose failed batches carry no codes anybatch reads: only a refused create's message can say "too large". */
export const CREATE_ONLY_FAILURE_CODES: FailureCodes = {
  queueLimit: [],
  tooLarge: [],
  tooLargeMessages: ['too many requests in', 'more than the maximum', 'too large', 'exceeds the maximum'],
};

/**
 * Where a provider's prices come from and its batch discount: what src/cost reads. Prices per model are the pricing
 * dataset's standard prices (@pydantic/genai-prices, bundled) under `dataset`, times (1 - `batchDiscount.discount`).
 */
export interface Pricing {
  /** The dataset's provider id (`openai`, `azure`, `x-ai`); null when there are no prices, `noPrices` says why. */
  dataset: string | null;
  /** Why there are no prices (with `dataset: null`), for messages: "not in the dataset", "any vendor's server". */
  noPrices?: string;
  /** The batch discount as the provider publishes it; null when it has no batch API (requests run online, at standard prices). */
  batchDiscount: BatchDiscount | null;
  /** Model names as its results give them and the dataset's spelling of them (Gemini's `models/` prefix): applied in order. */
  modelAliases?: ReadonlyArray<readonly [RegExp, string]>;
}

export interface BatchDiscount {
  /** The fraction taken off standard prices (0.5: half price). */
  discount: number;
  /** The fraction taken off the cached-input price, when it differs (Gemini: cache and batch discounts do not stack). */
  cachedDiscount?: number;
  /** The provider's page that states it, and what it says. */
  source: string;
}
