/**
 * Batch prices per model: the standard prices of the pricing dataset (@pydantic/genai-prices, bundled with the
 * package: nothing is fetched at run time) with the provider's batch discount (./discounts.ts) applied.
 *
 * Prices are per million tokens. Where the dataset tiers a price by prompt length (e.g. above 200k input tokens),
 * the base tier is used: a batch's usage is summed per model, not kept per request.
 */
import fs from 'node:fs';
import path from 'node:path';
import { calcPrice } from '@pydantic/genai-prices';
import type { ModelPrice } from '@pydantic/genai-prices';
import { isProviderName } from '../providers/catalog';
import type { ProviderName } from '../providers/catalog';
import { BATCH_DISCOUNTS } from './discounts';
import type { PriceUsed } from '../contract/cost';

/**
 * The dataset's provider id for each of ours; null where the server, and so the price, is not known; undefined where
 * the dataset lists none of the provider's prices.
 */
const DATASET_PROVIDER: { [P in ProviderName]: string | null | undefined } = {
  openai: 'openai',
  anthropic: 'anthropic',
  azureopenai: 'azure',
  groq: 'groq',
  xai: 'x-ai',
  gemini: 'google',
  mistral: 'mistral',
  together: 'together',
  // Not in the dataset (0.1.8).
  nebius: undefined,
  dashscope: undefined,
  moonshot: 'moonshotai',
  cerebras: 'cerebras',
  // Any server speaking OpenAI's API (vLLM, Ollama, DeepSeek, OpenRouter, ...): who serves it, and so the price, is not known.
  'openai-compatible': null,
};

/** The dataset and its version, as prices name their source. */
export const PRICE_DATASET = `@pydantic/genai-prices ${datasetVersion()}`;

function datasetVersion(): string {
  try {
    // The package exports no package.json: it is read beside its entry point.
    const file = path.join(path.dirname(require.resolve('@pydantic/genai-prices')), '..', 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '(unknown version)';
  }
}

/** A dataset price: a number, or tiers by prompt length (the base tier is used). */
function base(price: ModelPrice[string]): number | undefined {
  if (typeof price === 'number') return price;
  if (price && typeof price === 'object' && typeof price.base === 'number') return price.base;
  return undefined;
}

/** What a price lookup found: the batch prices, or why there are none. */
export type PriceLookup = { price: PriceUsed; missing: { input: boolean; output: boolean } } | { price: null; reason: string };

const cache = new Map<string, PriceLookup>();

/** Names as results give them that the dataset spells otherwise: Gemini's `models/` prefix. */
function datasetModel(model: string): string {
  return model.replace(/^models\//, '');
}

/** The batch prices of `provider`'s `model`, or why there are none (an unknown provider or model). */
export function batchPrice(provider: string, model: string): PriceLookup {
  const key = `${provider}\0${model}`;
  let found = cache.get(key);
  if (!found) {
    found = lookup(provider, model);
    cache.set(key, found);
  }
  return found;
}

function lookup(provider: string, model: string): PriceLookup {
  if (!isProviderName(provider)) return { price: null, reason: `anybatch has no prices for provider "${provider}"` };
  if (model === '') return { price: null, reason: 'result lines that name no model' };
  const providerId = DATASET_PROVIDER[provider];
  if (providerId === null) return { price: null, reason: `the prices of an ${provider} server are not known (it may be self-hosted, or any vendor)` };
  if (providerId === undefined) return { price: null, reason: `${PRICE_DATASET} has no prices for ${provider}` };
  const found = calcPrice({ input_tokens: 1, output_tokens: 1 }, datasetModel(model), { providerId });
  if (!found) return { price: null, reason: `${PRICE_DATASET} has no price for ${provider} model "${model}"` };
  const { discount, cachedDiscount, source } = BATCH_DISCOUNTS[provider] ?? { discount: 0, cachedDiscount: undefined, source: 'no batch API: standard prices' };
  const prices = found.model_price;
  const input = base(prices.input_mtok);
  const output = base(prices.output_mtok);
  const cached = base(prices.cache_read_mtok) ?? input;
  const cacheWrite = base(prices.cache_write_mtok);
  const batch = (list: number | undefined, off = discount) => round((list ?? 0) * (1 - off));
  const price: PriceUsed = {
    model,
    input_per_mtok: batch(input),
    output_per_mtok: batch(output),
    cached_per_mtok: batch(cached, cachedDiscount ?? discount),
    ...(cacheWrite !== undefined ? { cache_write_per_mtok: batch(cacheWrite) } : {}),
    batch_discount: discount,
    source: `${PRICE_DATASET} (${providerId}/${found.model.id}, standard prices); batch discount ${discount * 100}%: ${source}`,
  };
  return { price, missing: { input: input === undefined, output: output === undefined } };
}

/** Dollar amounts to 10 decimal places: exact enough for a millionth of a cent, free of float noise. */
export function round(value: number): number {
  return Math.round(value * 1e10) / 1e10;
}
