/**
 * `recoverBatch()` / `anybatch recover ID` end to end (real dev server, worker, sandbox): a batch whose parts' status
 * becomes unreadable (every read refused with 401, as after a key rotation) gives them up and fails with their
 * requests in errors.jsonl; once the provider batches have finished, a recovery reads what they produced and rewrites
 * the result files, every custom_id still exactly once. Recovering before they finish leaves them recoverable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createBatch, loadBatch, recoverBatch } from '../../src';
import type { AnybatchBatch } from '../../src';
import type { ResultLine } from '../../src/providers/types';
import { eventually, readJsonl, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';

let env: TestEnv;

beforeAll(async () => {
  // 10 requests a second per batch: a part of 60 runs for about 6 s at the provider.
  env = await startTestEnv({ rate: 10 });
});
afterAll(async () => {
  await env?.teardown();
});
afterEach(() => env.sandbox.setFaults({}));

async function untilTerminal(id: string): Promise<AnybatchBatch> {
  return eventually(async () => {
    const b = await loadBatch(id, env.options);
    return ['completed', 'failed', 'expired', 'cancelled'].includes(b.status) ? b : null;
  }, 90_000, 100);
}

function lines(batch: AnybatchBatch): { output: ResultLine[]; errors: ResultLine[] } {
  const files = batch.anybatch.results!;
  return { output: readJsonl<ResultLine>(files.output_path), errors: readJsonl<ResultLine>(files.errors_path) };
}

function ids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `req-${i}`).sort();
}

test('parts given up for an unreadable status are recovered once their provider batches finished: every request once, the counts follow', async () => {
  const n = 120;
  const file = writeChatInput(env.home, n);
  const batch = await createBatch('openai', file, '/v1/chat/completions', {
    ...env.options,
    apiBase: env.apiBase,
    apiKey: 'test-key',
    pollInterval: '200ms',
    maxRequestsPerPart: 60,
  });
  expect(batch.anybatch.provider_batches).toHaveLength(2);
  // Every read is refused from now on: both parts are given up (their cancels are refused too).
  env.sandbox.setFaults({ forceStatus: 401 });
  const failed = await untilTerminal(batch.id);
  env.sandbox.setFaults({});

  expect(failed.status).toBe('failed');
  expect(failed.anybatch.recoverable).toBe(2);
  expect(failed.errors?.data?.map((e) => e.code)).toEqual(['status_unreadable', 'status_unreadable']);
  expect(failed.errors?.data?.[0]?.message).toContain(`anybatch recover ${batch.id}`);
  const before = lines(failed);
  expect(before.output).toHaveLength(0);
  expect(before.errors.map((l) => l.custom_id).sort()).toEqual(ids(n));
  expect(new Set(before.errors.map((l) => l.error?.code))).toEqual(new Set(['status_unreadable']));
  // The staged input is kept for the recovery.
  const staged = failed.anybatch.input_path;
  expect(staged.startsWith(path.join(env.home, 'inputs', batch.id) + path.sep)).toBe(true);
  expect(fs.existsSync(staged)).toBe(true);

  // At once: the provider batches are still running, nothing is rewritten, both stay recoverable.
  const early = await recoverBatch(batch.id, env.options);
  expect(early.anybatch.recovery?.parts.map((p) => p.outcome)).toEqual(['not_finished', 'not_finished']);
  expect(early.anybatch.recoverable).toBe(2);
  expect(early.request_counts).toEqual({ total: n, completed: 0, failed: n });
  expect(lines(early).errors).toHaveLength(n);

  // Later, once they finished at the provider: every request's real line replaces its give-up line.
  const recovered = await eventually(async () => {
    const b = await recoverBatch(batch.id, env.options);
    return b.anybatch.recovery?.remaining === 0 ? b : null;
  }, 60_000, 1000);
  expect(recovered.anybatch.recovery?.parts.every((p) => p.outcome === 'recovered')).toBe(true);
  expect(recovered.anybatch.recoverable).toBeUndefined();
  expect(recovered.request_counts).toEqual({ total: n, completed: n, failed: 0 });
  const after = lines(recovered);
  expect(after.output.map((l) => l.custom_id).sort()).toEqual(ids(n));
  expect(after.errors).toHaveLength(0);
  expect(after.output.every((l) => l.response?.status_code === 200)).toBe(true);
  // Nothing is left behind: no manifest, no scratch, no staged input.
  const dir = recovered.anybatch.results_dir;
  expect(fs.existsSync(path.join(dir, 'recovery.json'))).toBe(false);
  expect(fs.existsSync(path.join(dir, '.recover'))).toBe(false);
  expect(fs.existsSync(staged)).toBe(false);

  // Reading the batch shows the recovery; its status is what happened then.
  const read = await loadBatch(batch.id, env.options);
  expect(read.status).toBe('failed');
  expect(read.request_counts).toEqual({ total: n, completed: n, failed: 0 });
  expect(read.anybatch.results?.output_count).toBe(n);
  expect(read.anybatch.recovery?.remaining).toBe(0);
  // Recovering again changes nothing.
  const again = await recoverBatch(batch.id, env.options);
  expect(lines(again).output).toHaveLength(n);
  expect(again.request_counts).toEqual({ total: n, completed: n, failed: 0 });
});

test('a batch with no given-up part has nothing to recover; a running one is refused', async () => {
  const file = writeChatInput(env.home, 20);
  const batch = await createBatch('openai', file, '/v1/chat/completions', { ...env.options, apiBase: env.apiBase, apiKey: 'test-key', pollInterval: '200ms' });
  await expect(recoverBatch(batch.id, env.options)).rejects.toThrow(/is (validating|in_progress|finalizing): a batch is recovered once it has ended/);
  const done = await untilTerminal(batch.id);
  expect(done.status).toBe('completed');
  const same = await recoverBatch(batch.id, env.options);
  expect(same.anybatch.recovery).toBeUndefined();
  expect(same.request_counts).toEqual(done.request_counts);
});
