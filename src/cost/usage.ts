/**
 * Token usage read from result lines, summed per model: what the actual cost of a batch is computed from. Reads
 * OpenAI's shapes (chat completions and embeddings: `prompt_tokens`/`completion_tokens`; responses:
 * `input_tokens`/`output_tokens`, with their `*_details`) and Anthropic's native message (`input_tokens` without
 * its cache reads and writes, which come apart). Reasoning tokens count as output: OpenAI already includes them
 * in `completion_tokens`; a provider that reports them beside it (its `total_tokens` says so) has them added.
 */
import type { ModelUsage, UsageByModel } from '../contract/cost';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** The usage a response body reports, or null when it reports none. */
export function usageOfBody(body: unknown): Omit<ModelUsage, 'requests'> | null {
  if (!isObject(body) || !isObject(body.usage)) return null;
  const u = body.usage;
  const details = (key: string) => (isObject(u[key]) ? (u[key] as Json) : {});
  if ('prompt_tokens' in u || 'completion_tokens' in u) {
    const input = num(u.prompt_tokens);
    const completion = num(u.completion_tokens);
    const reasoning = num(details('completion_tokens_details').reasoning_tokens);
    const separate = reasoning > 0 && num(u.total_tokens) >= input + completion + reasoning;
    return { input, cached: num(details('prompt_tokens_details').cached_tokens), cacheWrite: 0, output: completion + (separate ? reasoning : 0), reasoning };
  }
  if ('input_tokens' in u || 'output_tokens' in u) {
    const output = num(u.output_tokens);
    const reasoning = num(details('output_tokens_details').reasoning_tokens);
    if ('cache_read_input_tokens' in u || 'cache_creation_input_tokens' in u || body.type === 'message') {
      // Anthropic: input_tokens excludes the cache reads and writes.
      const cached = num(u.cache_read_input_tokens);
      const cacheWrite = num(u.cache_creation_input_tokens);
      return { input: num(u.input_tokens) + cached + cacheWrite, cached, cacheWrite, output, reasoning };
    }
    return { input: num(u.input_tokens), cached: num(details('input_tokens_details').cached_tokens), cacheWrite: 0, output, reasoning };
  }
  return null;
}

/** Sums the usage of result lines per model (`response.body.model`). */
export class UsageTally {
  private readonly byModel: UsageByModel = {};

  /** Counts one result line (any line: a line without usage adds nothing). */
  add(line: { response?: { body?: unknown } | null }): void {
    const body = line.response?.body;
    const usage = usageOfBody(body);
    if (!usage) return;
    const model = isObject(body) && typeof body.model === 'string' ? body.model : '';
    const sum = (this.byModel[model] ??= { requests: 0, input: 0, cached: 0, cacheWrite: 0, output: 0, reasoning: 0 });
    sum.requests += 1;
    sum.input += usage.input;
    sum.cached += usage.cached;
    sum.cacheWrite += usage.cacheWrite;
    sum.output += usage.output;
    sum.reasoning += usage.reasoning;
  }

  result(): UsageByModel {
    return this.byModel;
  }
}

/** The usage of several sets of results (the parts of a batch) summed per model. */
export function sumUsage(sets: UsageByModel[]): UsageByModel {
  const out: UsageByModel = {};
  for (const set of sets) {
    for (const [model, u] of Object.entries(set)) {
      const sum = (out[model] ??= { requests: 0, input: 0, cached: 0, cacheWrite: 0, output: 0, reasoning: 0 });
      sum.requests += u.requests;
      sum.input += u.input;
      sum.cached += u.cached;
      sum.cacheWrite += u.cacheWrite;
      sum.output += u.output;
      sum.reasoning += u.reasoning;
    }
  }
  return out;
}
