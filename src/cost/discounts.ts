/**
 * The batch discount of each provider, as each publishes it: the one table of it. The pricing dataset
 * (@pydantic/genai-prices) lists standard (synchronous) prices only, so a batch price is the standard price
 * times (1 - discount). From each provider's batch documentation; where a provider says "up to" (Together: on
 * selected models) or "reduced" (xAI) the discount may be smaller for some models, and a cost is then an
 * underestimate: the source says so.
 */
import type { ProviderName } from '../providers/catalog';

export interface BatchDiscount {
  /** The fraction taken off standard prices (0.5: half price). */
  discount: number;
  /** The fraction taken off the cached-input price, when it differs (Gemini: cache and batch discounts do not stack). */
  cachedDiscount?: number;
  source: string;
}

/** Null for a provider without a batch API (its requests run online, at standard prices). */
export const BATCH_DISCOUNTS: { [P in ProviderName]: BatchDiscount | null } = {
  openai: { discount: 0.5, source: 'https://platform.openai.com/docs/guides/batch (50% lower costs)' },
  anthropic: { discount: 0.5, source: 'https://docs.anthropic.com/en/docs/build-with-claude/batch-processing (50% of standard prices)' },
  azureopenai: { discount: 0.5, source: 'https://learn.microsoft.com/azure/ai-foundry/openai/how-to/batch (50% less than global standard)' },
  groq: { discount: 0.5, source: 'https://console.groq.com/docs/batch (50% lower cost)' },
  xai: { discount: 0.5, source: 'https://docs.x.ai/docs/guides/batch-api (batch requests billed at a reduced rate: 50% on current models, less on some)' },
  gemini: { discount: 0.5, cachedDiscount: 0, source: 'https://ai.google.dev/gemini-api/docs/batch-mode (50% of the standard cost; cached tokens at the cache price, the discounts do not stack)' },
  mistral: { discount: 0.5, source: 'https://docs.mistral.ai/capabilities/batch/ (50% lower cost)' },
  together: { discount: 0.5, source: 'https://docs.together.ai/docs/batch-inference (up to 50% off serverless rates, on selected models)' },
  nebius: { discount: 0.5, source: 'https://docs.tokenfactory.nebius.com/ai-models-inference/batch-inference (batches cost 50% less than regular requests to base models)' },
  dashscope: { discount: 0.5, source: 'https://www.alibabacloud.com/help/en/model-studio/batch-interfaces-compatible-with-openai (50% of the cost of real-time calls)' },
  moonshot: { discount: 0, source: 'https://platform.kimi.ai/docs/guide/use-batch-api (no batch discount documented: standard prices, an overestimate if one applies)' },
  cerebras: { discount: 0.5, source: 'https://inference-docs.cerebras.ai/capabilities/batch (50% off regular pricing)' },
  // No batch API: its requests are sent online, at standard prices.
  'openai-compatible': null,
};
