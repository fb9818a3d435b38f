/**
 * The dry run (`planBatch`, `anybatch create --dry-run`): validates an input exactly as `createBatch` does, splits
 * it into parts with the worker's split code and limits, estimates each part's tokens (src/tokens) and prices the
 * estimate at the provider's batch prices, and starts nothing: no Temporal, no provider, no blob store. The input
 * is staged in a temporary folder (streamed: memory stays flat), which is removed before it returns.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getAdapter } from '../providers';
import { checkProvider, parseCreateOptions } from '../options';
import type { CreateBatchOptions, ProviderName } from '../options';
import { readFileChunks } from '../results/jsonl';
import { fileSource, splitLimits, splitStaged } from '../results/split';
import type { PartSink } from '../results/split';
import type { EndpointOf } from '../results/types';
import { LineEstimator, NO_TOKENS, addEstimates, estimateParts } from '../tokens';
import type { TokenEstimate } from '../tokens';
import { validateInputFile } from '../validation';
import { costRange } from './index';
import type { CostRange } from './index';

export type PlanBatchOptions<P extends ProviderName = ProviderName> = CreateBatchOptions<P> & {
  /** Count and price the requests as this model's instead of their own (`--model`): what would it cost on another? */
  model?: string;
};

export interface PlannedPart {
  index: number;
  requests: number;
  bytes: number;
  estimated_tokens: TokenEstimate;
  cost: CostRange;
}

/** What `createBatch` would do with an input, and what it would cost. */
export interface BatchPlan {
  provider: string;
  endpoint: string;
  file: string;
  requests: number;
  bytes: number;
  /** The models priced (the input's, or `options.model`). */
  models: string[];
  /** How each model's tokens are counted: a tokenizer (`o200k_base`, `cl100k_base`) or the estimate `chars/3.5`. */
  token_counting: Record<string, string>;
  /** What the provider will drop or change in these requests, each once. */
  warnings: string[];
  /** The limits each part is cut to. */
  limits: { max_requests: number; max_bytes: number };
  parts: PlannedPart[];
  total: { estimated_tokens: TokenEstimate; cost: CostRange };
}

/** Parts are counted, not kept: the dry run writes none. */
const COUNT_ONLY: PartSink = {
  pathOf: (index) => `part ${index}`,
  open: async () => ({ write: async () => undefined, commit: async () => undefined, discard: async () => undefined }),
};

/**
 * Plans a batch without starting it. Invalid input throws `InputValidationError` (the same one `createBatch`
 * throws); a bad option throws `UsageError`.
 */
export async function planBatch<P extends ProviderName>(
  provider: P,
  inputFilePath: string,
  endpoint: EndpointOf<P>,
  planOptions?: NoInfer<PlanBatchOptions<P>>,
): Promise<BatchPlan> {
  const adapter = getAdapter(checkProvider(provider));
  const { model: priceAs, ...createOptions } = (planOptions ?? {}) as PlanBatchOptions;
  const options = parseCreateOptions(provider, createOptions);
  const { maxRequestsPerPart, maxBytesPerPart, providerOptions } = options;
  const checkRequest = adapter.checkRequest?.bind(adapter);
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'anybatch-dry-run-'));
  try {
    const staged = path.join(dir, 'input.jsonl');
    const input = await validateInputFile(
      inputFilePath,
      {
        file: inputFilePath,
        endpoint,
        capabilities: adapter.capabilities,
        enforceBatchLimits: false,
        maxBytes: maxBytesPerPart ?? undefined,
        checkPayload: checkRequest && ((payload) => checkRequest(payload, endpoint, providerOptions)),
      },
      { stageTo: staged },
    );
    const limits = { ...splitLimits(adapter, { endpoint, providerOptions, maxRequestsPerPart, maxBytesPerPart }), requestCount: input.requestCount };
    const split = await splitStaged(fileSource(staged, input.bytes), limits, COUNT_ONLY);
    const estimator = new LineEstimator(provider, endpoint, priceAs);
    const parts = await estimateParts(readFileChunks(staged), split, estimator);
    const models = priceAs !== undefined ? [priceAs] : input.models;
    const total = parts.reduce((sum, p) => addEstimates(sum, p.estimatedTokens), NO_TOKENS);
    return {
      provider,
      endpoint,
      file: inputFilePath,
      requests: input.requestCount,
      bytes: input.bytes,
      models,
      token_counting: Object.fromEntries(models.map((m) => [m, estimator.counterFor(m).name])),
      warnings: input.warnings,
      limits: { max_requests: limits.maxRequests, max_bytes: limits.maxBytes },
      parts: parts.map((p) => ({
        index: p.index,
        requests: p.requestCount,
        bytes: p.bytes,
        estimated_tokens: p.estimatedTokens,
        cost: costRange(provider, models, p.estimatedTokens),
      })),
      total: { estimated_tokens: total, cost: costRange(provider, models, total) },
    };
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
