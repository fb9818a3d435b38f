/**
 * Token estimates of request lines and of the parts of a plan: each validated line's input tokens and output cap
 * (src/tokens/request.ts), counted with its model's tokenizer or estimate (src/tokens/encoding.ts), summed per part
 * in one streaming pass over the staged input, so that a plan carries `estimatedTokens` for admission control and
 * for the cost range of a dry run.
 */
import { PROVIDERS, isProviderName, lineShape } from '../providers/catalog';
import { splitLines } from '../results/jsonl';
import { tokenCounter } from './encoding';
import type { TokenCounter } from './encoding';
import { estimateRequest } from './request';
import { NO_TOKENS, addEstimates } from '../contract/tokens';
import type { TokenEstimate } from '../contract/tokens';

export { CHARS_PER_TOKEN, encodingFor, tokenCounter } from './encoding';
export type { EncodingName, TokenCounter } from './encoding';
export { estimateRequest } from './request';
export { NO_TOKENS, addEstimates } from '../contract/tokens';
export type { TokenEstimate } from '../contract/tokens';

/** Estimates the lines of one provider's endpoint (one counter per model, made once). */
export class LineEstimator {
  private readonly payload: string;
  private readonly counters = new Map<string, TokenCounter>();

  /** `model`: count every line as this model's (a dry run priced as another model), instead of the line's own. */
  constructor(
    private readonly provider: string,
    private readonly endpoint: string,
    private readonly model?: string,
  ) {
    this.payload = isProviderName(provider) ? lineShape(PROVIDERS[provider], endpoint).payload : 'body';
  }

  /** How `model`'s tokens are counted. */
  counterFor(model: string): TokenCounter {
    let counter = this.counters.get(model);
    if (!counter) {
      counter = tokenCounter(this.provider, model);
      this.counters.set(model, counter);
    }
    return counter;
  }

  /** The estimate of one request line (a validated line; anything else counts as nothing). */
  line(bytes: Buffer): TokenEstimate {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      return NO_TOKENS;
    }
    const body = (parsed as Record<string, unknown> | null)?.[this.payload];
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return NO_TOKENS;
    const model = this.model ?? (body as { model?: unknown }).model;
    return estimateRequest(body as Record<string, unknown>, this.endpoint, this.counterFor(typeof model === 'string' ? model : ''));
  }
}

/**
 * Adds each part's estimate to its plan: `chunks` is the whole staged input, whose lines the parts hold in order
 * (`requestCount` each), as the split made them. Streams: memory stays flat whatever the input's size.
 */
export async function estimateParts<P extends { requestCount: number }>(
  chunks: AsyncIterable<Buffer>,
  parts: P[],
  estimator: LineEstimator,
): Promise<Array<P & { estimatedTokens: TokenEstimate }>> {
  const sums = parts.map(() => NO_TOKENS);
  let part = 0;
  let inPart = 0;
  for await (const line of splitLines(chunks)) {
    if (line.length === 0) continue;
    while (part < parts.length && inPart >= parts[part].requestCount) {
      part += 1;
      inPart = 0;
    }
    if (part >= parts.length) break;
    sums[part] = addEstimates(sums[part], estimator.line(line));
    inPart += 1;
  }
  return parts.map((p, i) => ({ ...p, estimatedTokens: sums[i] }));
}
