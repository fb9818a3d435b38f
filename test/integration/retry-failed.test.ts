/**
 * `retryFailed` end to end on the sandbox with its request fault (a fraction of requests end as 500 error lines,
 * drawn anew in every provider batch): failed requests are resubmitted in follow-up rounds, every custom_id is
 * in output.jsonl or errors.jsonl exactly once, the counts and `anybatch.retries` add up, a cancel during a
 * retry round cancels it, and the CLI's --retry-failed does the same.
 */
import fs from 'node:fs';
import { cancelBatch, createBatch, retrieveBatch } from '../../src';
import type { AnybatchBatch, ResultLine } from '../../src';
import { runCli } from '../support/cli';
import { untilTerminalBatch } from '../support/batches';
import { eventually, readJsonl, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { recordHistory } from '../support/histories';

let env: TestEnv;

beforeAll(async () => {
  // Slow enough (20 requests a second per batch) that a cancel lands while a round runs.
  env = await startTestEnv({ rate: 20, faults: { requestFaultRate: 0.3, seed: 11 } });
});
afterAll(async () => env?.teardown());

function opts(extra: Record<string, unknown> = {}) {
  return { ...env.options, apiBase: env.apiBase, apiKey: 'k', pollInterval: '100ms', maxRequestsPerPart: 15, ...extra };
}

function untilTerminal(id: string): Promise<AnybatchBatch> {
  return untilTerminalBatch('openai', id, env.options, 60_000);
}

function results(batch: AnybatchBatch): { output: ResultLine[]; errors: ResultLine[] } {
  const files = batch.anybatch.results!;
  return { output: readJsonl<ResultLine>(files.output_path), errors: readJsonl<ResultLine>(files.errors_path) };
}

/** Every input id exactly once across output and errors. */
function expectEachOnce(batch: AnybatchBatch, n: number): void {
  const { output, errors } = results(batch);
  const ids = [...output, ...errors].map((l) => l.custom_id).sort();
  expect(ids).toEqual(Array.from({ length: n }, (_, i) => `req-${i}`).sort());
}

test('failed requests are retried in follow-up rounds: each id once, fewer errors than without, counts right', async () => {
  const input = writeChatInput(env.home, 30);
  const without = await untilTerminal((await createBatch('openai', input, '/v1/chat/completions', opts())).id);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts({ retryFailed: { rounds: 3 } }));
  expect(created.anybatch.provider_batches).toHaveLength(2);
  const done = await untilTerminal(created.id);

  expect(without.status).toBe('completed');
  expectEachOnce(without, 30);
  const failedWithout = results(without).errors.length;
  expect(failedWithout).toBeGreaterThan(0);

  expect(done.status).toBe('completed');
  expectEachOnce(done, 30);
  const { output, errors } = results(done);
  expect(errors.length).toBeLessThan(failedWithout);
  expect(done.request_counts).toEqual({ total: 30, completed: output.length, failed: errors.length });
  expect(done.anybatch.results).toMatchObject({ output_count: output.length, errors_count: errors.length });
  // What is left failed in the last round run: injected 500s only.
  expect(errors.every((l) => l.response?.status_code === 500)).toBe(true);

  const retries = done.anybatch.retries!;
  expect(retries.rounds).toBe(3);
  expect(retries.rounds_run).toBeGreaterThanOrEqual(1);
  expect(retries.recovered_by_round).toHaveLength(retries.rounds_run);
  // Round 1 resubmitted the first parts' failures, each later round what failed in the round before: the
  // rounds' sizes follow from `retried` and the recoveries, and what the last round did not recover is errors.jsonl.
  const sizes = roundSizes(retries);
  expect(sizes.every((n) => Number.isInteger(n) && n > 0)).toBe(true);
  expect(sizes[sizes.length - 1] - retries.recovered_by_round[sizes.length - 1]).toBe(errors.length);
  expect(30 - sizes[0] + retries.recovered_by_round.reduce((a, b) => a + b, 0)).toBe(output.length);
  // Each round's provider batches are listed with the first two.
  expect(done.anybatch.provider_batches.length).toBeGreaterThanOrEqual(2 + retries.rounds_run);
  expect(done.anybatch.provider_batches.every((b) => b.status === 'completed')).toBe(true);
  await recordHistory(env.client, created.id, 'retry-failed');
});

/** Requests in each retry round: R1 = the first parts' failures, R(k+1) = Rk - recovered(k), and retried = sum of Rk. */
function roundSizes(retries: NonNullable<AnybatchBatch['anybatch']['retries']>): number[] {
  const rec = retries.recovered_by_round;
  const n = retries.rounds_run;
  let lost = 0; // sum over k of the recoveries before round k
  for (let k = 1; k < n; k++) lost += rec.slice(0, k).reduce((a, b) => a + b, 0);
  const first = (retries.retried + lost) / n;
  return Array.from({ length: n }, (_, k) => first - rec.slice(0, k).reduce((a, b) => a + b, 0));
}

test("Anthropic's errored api_error results are retried the same way", async () => {
  const created = await createBatch('anthropic', writeChatInput(env.home, 20, { model: 'claude-3-5-haiku-latest' }), '/v1/chat/completions', {
    ...opts({ retryFailed: { rounds: 4 }, maxRequestsPerPart: undefined }),
    apiBase: env.sandbox.baseUrls.anthropic,
  });
  const done = await untilTerminalBatch('anthropic', created.id, env.options, 60_000);
  expect(done.status).toBe('completed');
  expectEachOnce(done, 20);
  const { output, errors } = results(done);
  expect(done.anybatch.retries!.rounds_run).toBeGreaterThanOrEqual(1);
  expect(done.request_counts).toEqual({ total: 20, completed: output.length, failed: errors.length });
  // An injected failure reads as Anthropic's api_error, a 500, in OpenAI's error-line shape.
  expect(errors.every((l) => l.response?.status_code === 500 && (l.response.body as { error: { type: string } }).error.type === 'api_error')).toBe(true);
  expect(done.anybatch.retries!.recovered_by_round.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
});

test('a cancel during a retry round cancels it, and every id is still accounted for once', async () => {
  // Every request fails every time: round after round until the cancel, which lands while a round runs.
  env.sandbox.setFaults({ requestFaultRate: 1, seed: 3 });
  try {
    const created = await createBatch('openai', writeChatInput(env.home, 20), '/v1/chat/completions', opts({ retryFailed: { rounds: 5 }, maxRequestsPerPart: 10 }));
    await eventually(async () => (await retrieveBatch('openai', created.id, env.options)).anybatch.retries!.rounds_run >= 1, 30_000, 50);
    const done = await cancelBatch('openai', created.id, { ...env.options, wait: true });
    expect(done.status).toBe('cancelled');
    expectEachOnce(done, 20);
    expect(done.anybatch.retries!.rounds_run).toBeLessThan(5);
    const { output, errors } = results(done);
    expect(output).toHaveLength(0);
    expect(done.request_counts).toEqual({ total: 20, completed: 0, failed: 20 });
    expect(errors.every((l) => l.response?.status_code === 500 || l.error?.code === 'batch_cancelled')).toBe(true);
    expect(errors.some((l) => l.error?.code === 'batch_cancelled')).toBe(true);
    await recordHistory(env.client, created.id, 'retry-failed-cancelled');
  } finally {
    env.sandbox.setFaults({ requestFaultRate: 0.3, seed: 11 });
  }
});

test("a retry round under the provider's minimum batch size is not sent: the failed requests keep their own error lines", async () => {
  // Cerebras takes no batch under 10 requests. Seed 5 fails 6 of these 20 in the first batch: a round of 6 would be
  // refused by the provider, and its refusal would replace the requests' own errors with a create failure.
  env.sandbox.setFaults({ requestFaultRate: 0.3, seed: 5 });
  try {
    const created = await createBatch('cerebras', writeChatInput(env.home, 20, { model: 'llama3.1-8b' }), '/v1/chat/completions', {
      ...env.options,
      apiBase: env.sandbox.baseUrls.cerebras,
      apiKey: 'k',
      pollInterval: '100ms',
      retryFailed: { rounds: 3 },
    });
    const done = await untilTerminalBatch('cerebras', created.id, env.options, 60_000);
    expectEachOnce(done, 20);
    const { output, errors } = results(done);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThan(10);
    // The lines the provider wrote for them (an injected 500), not a refused create.
    expect(errors.every((l) => l.response?.status_code === 500)).toBe(true);
    expect(done.request_counts).toEqual({ total: 20, completed: output.length, failed: errors.length });
    expect(done.anybatch.provider_batches).toHaveLength(1);
    expect(done.anybatch.retries).toMatchObject({ rounds: 3, rounds_run: 0 });
  } finally {
    env.sandbox.setFaults({ requestFaultRate: 0.3, seed: 11 });
  }
});

test('anybatch create --retry-failed N resubmits failed requests', async () => {
  const input = writeChatInput(env.home, 30);
  const run = await runCli(env, ['create', input, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--api-base', env.apiBase, '--api-key', 'k', '--poll-interval', '100ms', '--retry-failed', '3', '--wait', '--json']);
  expect(run.stderr).not.toMatch(/error/i);
  expect(run.code).toBe(0);
  const batch = JSON.parse(run.stdout) as AnybatchBatch;
  expect(batch.status).toBe('completed');
  expect(batch.anybatch.retries).toMatchObject({ rounds: 3 });
  expect(batch.anybatch.retries!.rounds_run).toBeGreaterThanOrEqual(1);
  expectEachOnce(batch, 30);
  expect(fs.existsSync(batch.anybatch.results!.errors_path)).toBe(true);
  const bad = await runCli(env, ['create', input, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--api-key', 'k', '--retry-failed', '2', '--retry-codes', 'batch_cancelled']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('retryFailed.codes[0]: batch_cancelled is never retried');
});
