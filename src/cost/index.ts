/**
 * What a batch costs: the actual cost of its results (usage per model times batch prices), and the estimated range
 * of a dry run (its token estimates times the same prices). A model with no known price makes the cost unknown,
 * never zero.
 */
import type { BatchResultFiles } from '../contract/batch';
import type { TokenEstimate } from '../contract/tokens';
import { batchPrice, round } from './prices';
import type { PriceUsed, BatchCost, UsageByModel } from '../contract/cost';
import { sumUsage } from './usage';

export { BATCH_DISCOUNTS } from './discounts';
export { PRICE_DATASET, batchPrice } from './prices';
export { UsageTally, sumUsage, usageOfBody } from './usage';
export type { BatchCost, KnownCost, ModelUsage, PriceUsed, UnknownCost, UsageByModel } from '../contract/cost';

const MTOK = 1_000_000;

/** The cost of `provider`'s results, from their usage per model. */
export function costOfUsage(provider: string, usage: UsageByModel): BatchCost {
  const totals = { input: 0, output: 0, cached: 0 };
  const prices: PriceUsed[] = [];
  const unknown: string[] = [];
  const reasons: string[] = [];
  for (const [model, u] of Object.entries(usage).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const found = batchPrice(provider, model);
    if (found.price === null) {
      unknown.push(model);
      reasons.push(found.reason);
      continue;
    }
    const uncached = Math.max(0, u.input - u.cached - u.cacheWrite);
    if ((found.missing.input && u.input > 0) || (found.missing.output && u.output > 0)) {
      unknown.push(model);
      reasons.push(`the price of model "${model}" has no ${found.missing.input ? 'input' : 'output'} price`);
      continue;
    }
    const p = found.price;
    totals.input += (uncached * p.input_per_mtok) / MTOK;
    totals.cached += (u.cached * p.cached_per_mtok + u.cacheWrite * (p.cache_write_per_mtok ?? p.input_per_mtok)) / MTOK;
    totals.output += (u.output * p.output_per_mtok) / MTOK;
    prices.push(p);
  }
  if (unknown.length > 0) {
    return { currency: 'USD', total: null, unknown_models: unknown, reason: `no known price: ${[...new Set(reasons)].join('; ')}` };
  }
  return {
    currency: 'USD',
    input: round(totals.input),
    output: round(totals.output),
    cached: round(totals.cached),
    total: round(totals.input + totals.output + totals.cached),
    prices,
  };
}

/**
 * The cost of a batch's parts. A part whose results were written before usage was recorded (no `usage`) makes
 * the cost unknown: its usage was not read.
 */
export function costOfParts(provider: string, parts: Array<{ usage?: UsageByModel }>): BatchCost {
  if (parts.some((p) => p.usage === undefined)) {
    return { currency: 'USD', total: null, unknown_models: [], reason: 'results written before anybatch recorded usage' };
  }
  return costOfUsage(provider, sumUsage(parts.map((p) => p.usage!)));
}

/** The merged result files with the batch's cost. */
export function withCost(files: BatchResultFiles, provider: string, parts: Array<{ usage?: UsageByModel }>): BatchResultFiles {
  return { ...files, cost: costOfParts(provider, parts) };
}

/** The estimated cost of requests before they run: from input only (min) to input plus every output cap (max). */
export type CostRange =
  | { currency: 'USD'; min: number; max: number | null; max_reason?: string; prices: PriceUsed[] }
  | { currency: 'USD'; min: null; max: null; unknown_models: string[]; reason: string };

/**
 * The estimated cost range of `tokens` sent to any of `models` (the input's models). With several models the
 * bounds take the cheapest price for the minimum and the dearest for the maximum. `max` is null when some request
 * sets no output cap (its output, and so its cost, is unbounded).
 */
export function costRange(provider: string, models: string[], tokens: TokenEstimate): CostRange {
  const prices: PriceUsed[] = [];
  const unknown: string[] = [];
  const reasons: string[] = [];
  for (const model of models) {
    const found = batchPrice(provider, model);
    if (found.price === null || found.missing.input || (found.missing.output && tokens.maxOutput + tokens.withoutMaxOutput > 0)) {
      unknown.push(model);
      reasons.push(found.price === null ? found.reason : `model "${model}" has no ${found.missing.input ? 'input' : 'output'} price`);
    } else prices.push(found.price);
  }
  if (unknown.length > 0 || prices.length === 0) {
    return { currency: 'USD', min: null, max: null, unknown_models: unknown, reason: reasons.length ? `no known price: ${[...new Set(reasons)].join('; ')}` : 'no model' };
  }
  const minInput = Math.min(...prices.map((p) => p.input_per_mtok));
  const maxInput = Math.max(...prices.map((p) => p.input_per_mtok));
  const maxOutput = Math.max(...prices.map((p) => p.output_per_mtok));
  const min = round((tokens.input * minInput) / MTOK);
  if (tokens.withoutMaxOutput > 0) {
    const n = tokens.withoutMaxOutput;
    return { currency: 'USD', min, max: null, max_reason: `${n} request${n === 1 ? '' : 's'} set no max_tokens, so the output is unbounded`, prices };
  }
  return { currency: 'USD', min, max: round((tokens.input * maxInput + tokens.maxOutput * maxOutput) / MTOK), prices };
}
