/** The usage each part's results carry: counted once per request, per model, as the result files are written. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ResultLine } from '../../src/providers/types';
import { costOfParts } from '../../src/cost';
import { writePartResults } from '../../src/results/writer';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-cost-results-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function* each<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

function ok(id: string, model: string, prompt: number, completion: number, cached = 0): ResultLine {
  const body = { object: 'chat.completion', model, usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: cached } } };
  return { id: `l-${id}`, custom_id: id, response: { status_code: 200, request_id: id, body }, error: null } as ResultLine;
}

test('usage per model, each request once: duplicates and unknown custom_ids add nothing; failed lines without usage neither', async () => {
  const failed = { id: 'l-d', custom_id: 'd', response: { status_code: 500, request_id: 'd', body: { error: { message: 'boom' } } }, error: null } as ResultLine;
  const part = { index: 0, path: path.join(dir, 'in.jsonl'), requestCount: 5, bytes: 0 };
  const results = await writePartResults({
    batchId: 'ab_cost',
    resultsDir: dir,
    part,
    ids: each(['a', 'b', 'c', 'd', 'e']),
    lines: each([ok('a', 'gpt-4o-mini', 100, 10, 40), ok('a', 'gpt-4o-mini', 100, 10), ok('zzz', 'gpt-4o-mini', 999, 999), ok('b', 'gpt-4o-mini-2024-07-18', 50, 5), ok('c', 'gpt-4o', 20, 2), failed]),
    outcome: { code: 'missing_result', message: 'not reported' },
  });
  expect(results.usage).toEqual({
    'gpt-4o-mini': { requests: 1, input: 100, cached: 40, cacheWrite: 0, output: 10, reasoning: 0 },
    'gpt-4o-mini-2024-07-18': { requests: 1, input: 50, cached: 0, cacheWrite: 0, output: 5, reasoning: 0 },
    'gpt-4o': { requests: 1, input: 20, cached: 0, cacheWrite: 0, output: 2, reasoning: 0 },
  });
  expect(results).toMatchObject({ outputCount: 3, errorsCount: 2 });
  // Priced per model at batch prices: gpt-4o-mini $0.075/$0.0375 cached/$0.30, gpt-4o $1.25/$5 per million tokens.
  const cost = costOfParts('openai', [results]);
  expect(cost.total).toBeCloseTo(((60 + 50) * 0.075 + 40 * 0.0375 + 15 * 0.3 + 20 * 1.25 + 2 * 5) / 1e6, 12);
});
