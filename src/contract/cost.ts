/**
 * Usage and cost as a batch reports them (workflow-safe: no imports, plain data in history and in the memo).
 */

/** Tokens a model used over a set of results (from each output line's `usage`). */
export interface ModelUsage {
  /** Result lines that reported usage. */
  requests: number;
  /** Input tokens, all of them (cached and cache-written ones included). */
  input: number;
  /** Of `input`, the tokens read from the provider's prompt cache. */
  cached: number;
  /** Of `input`, the tokens written to the prompt cache (Anthropic's `cache_creation_input_tokens`). */
  cacheWrite: number;
  /** Output tokens, reasoning included. */
  output: number;
  /** Of `output`, the reasoning tokens. */
  reasoning: number;
}

/** Usage per model name as the results name it (`response.body.model`; `""` when a line names none). */
export type UsageByModel = Record<string, ModelUsage>;

/** The prices one model's usage was priced at: per million tokens, in USD, with the batch discount applied. */
export interface PriceUsed {
  model: string;
  input_per_mtok: number;
  output_per_mtok: number;
  cached_per_mtok: number;
  /** Cache writes (Anthropic); absent where the model has no such price. */
  cache_write_per_mtok?: number;
  /** The fraction taken off the dataset's standard prices for a batch (0.5: half price); 0 when the dataset's price is a batch price. */
  batch_discount: number;
  /** Where the prices and the discount come from. */
  source: string;
}

/** The cost of a batch's results, by kind of token. */
export interface KnownCost {
  currency: 'USD';
  /** Uncached input tokens. */
  input: number;
  output: number;
  /** Cached input tokens (cache reads and writes). */
  cached: number;
  total: number;
  prices: PriceUsed[];
}

/** A batch whose cost cannot be told: never reported as zero. */
export interface UnknownCost {
  currency: 'USD';
  total: null;
  /** The models with no known price (empty when the reason is not a price). */
  unknown_models: string[];
  reason: string;
}

export type BatchCost = KnownCost | UnknownCost;
