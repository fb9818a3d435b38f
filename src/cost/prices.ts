/**
 * Batch prices per model: the standard prices of the pricing dataset (@pydantic/genai-prices, bundled with the
 * package: nothing is fetched at run time) with the provider's batch discount applied; both come from the provider's
 * own `pricing` (its folder's `limits.ts`: the dataset's id for it, the discount and its source).
 *
 * Prices are per million tokens. Where the dataset tiers a price by prompt length (e.g. above 200k input tokens),
 * the base tier is used: a batch's usage is summed per model, not kept per request.
 */
import fs from 'node:fs';
import path from 'node:path';
import { calcPrice } from '@pydantic/genai-prices';
import type { ModelPrice } from '@pydantic/genai-prices';
import { isProviderName, PROVIDERS } from '../providers/catalog';
import type { Pricing } from '../providers/capabilities';
import type { PriceUsed } from '../contract/cost';

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

/** `model` as the dataset spells it: the provider's aliases (Gemini's `models/` prefix) applied in order. */
function datasetModel(aliases: ReadonlyArray<readonly [RegExp, string]>, model: string): string {
  return aliases.reduce((name, [pattern, replacement]) => name.replace(pattern, replacement), model);
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
  const pricing: Pricing = PROVIDERS[provider].pricing;
  const providerId = pricing.dataset;
  if (providerId === null) return { price: null, reason: `the prices of ${provider} are not known: ${pricing.noPrices ?? `${PRICE_DATASET} has none`}` };
  const found = calcPrice({ input_tokens: 1, output_tokens: 1 }, datasetModel(pricing.modelAliases ?? [], model), { providerId });
  if (!found) return { price: null, reason: `${PRICE_DATASET} has no price for ${provider} model "${model}"` };
  const { discount, cachedDiscount, source } = pricing.batchDiscount ?? { discount: 0, cachedDiscount: undefined, source: 'no batch API: standard prices' };
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
