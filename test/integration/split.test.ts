/** One anybatch batch over several provider batches: split by the per-part limits, tracked, merged, cancelled. */
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { cancelBatch, createBatch, retrieveBatch } from '../../src';
import type { AnybatchBatch, ResultLine } from '../../src';
import { eventually, readJsonl, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';

let env: TestEnv;

beforeAll(async () => {
  // The sandbox enforces the same lower limit the batches are split by.
  env = await startTestEnv({ maxRequests: 40, rate: 20 });
});
afterAll(async () => env?.teardown());

function opts(extra: Record<string, unknown> = {}) {
  return { ...env.options, apiBase: env.apiBase, apiKey: 'k', pollInterval: '200ms', maxRequestsPerPart: 40, ...extra };
}

async function untilTerminal(id: string): Promise<AnybatchBatch> {
  return eventually(async () => {
    const b = await retrieveBatch('openai', id, env.options);
    return ['completed', 'failed', 'expired', 'cancelled'].includes(b.status) ? b : null;
  }, 120_000);
}

function allIds(batch: AnybatchBatch): string[] {
  const files = batch.anybatch.results!;
  return [...readJsonl<ResultLine>(files.output_path), ...readJsonl<ResultLine>(files.errors_path)].map((l) => l.custom_id);
}

test('an input past the per-batch limit becomes several provider batches merged into one result', async () => {
  const created = await createBatch('openai', writeChatInput(env.home, 130), '/v1/chat/completions', opts());
  expect(created.anybatch.provider_batches).toHaveLength(4);
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('completed');
  expect(done.request_counts).toEqual({ total: 130, completed: 130, failed: 0 });
  expect(new Set(done.anybatch.provider_batches.map((b) => b.id)).size).toBe(4);
  expect(done.anybatch.provider_batches.every((b) => b.status === 'completed')).toBe(true);
  const ids = allIds(done);
  expect(ids).toHaveLength(130);
  expect(new Set(ids).size).toBe(130);
  const sa = (await env.client.workflow.getHandle(created.id).describe()).searchAttributes as Record<string, unknown[]>;
  expect((sa.AnybatchProviderBatchIds as string[]).sort()).toEqual(done.anybatch.provider_batches.map((b) => b.id).sort());
});

test('parts are byte ranges of the staged input, cut while it was staged: no part is copied, and each upload is its range', async () => {
  const input = writeChatInput(env.home, 130);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts());
  expect(created.anybatch.provider_batches).toHaveLength(4);
  const [run] = fs.readdirSync(path.join(env.home, 'inputs', created.id));
  const folder = path.join(env.home, 'inputs', created.id, run);
  // The plan the client cut while it validated; the worker split nothing (no part files beside the input).
  expect(fs.readdirSync(folder).filter((f) => f.endsWith('.jsonl') || f.endsWith('.json')).sort()).toEqual(['ids.jsonl', 'input.jsonl', 'plan.json']);
  const staged = fs.readFileSync(path.join(folder, 'input.jsonl'), 'utf8');
  // What the provider received, part by part, is the staged input cut at line boundaries, in order.
  const openai = new OpenAI({ apiKey: 'k', baseURL: env.apiBase });
  const uploads: string[] = [];
  for (const b of created.anybatch.provider_batches) {
    const batch = await openai.batches.retrieve(b.id);
    const file = await openai.files.retrieve(batch.input_file_id);
    expect(file.filename).toMatch(/^part-\d\.[0-9a-f]+\.jsonl$/);
    uploads.push(await (await openai.files.content(batch.input_file_id)).text());
  }
  expect(uploads.map((u) => u.split('\n').filter(Boolean).length)).toEqual([40, 40, 40, 10]);
  expect(uploads.join('')).toBe(staged);
  expect((await untilTerminal(created.id)).request_counts).toEqual({ total: 130, completed: 130, failed: 0 });
});

test('cancel reaches every part and all partial results are delivered', async () => {
  env.sandbox.setFaults({});
  const created = await createBatch('openai', writeChatInput(env.home, 120), '/v1/chat/completions', opts({ maxRequestsPerPart: 40 }));
  await eventually(async () => (await retrieveBatch('openai', created.id, env.options)).request_counts!.completed > 0, 30_000, 100);
  const done = await cancelBatch('openai', created.id, { ...env.options, wait: true });
  expect(done.status).toBe('cancelled');
  const ids = allIds(done);
  expect(ids).toHaveLength(120);
  expect(new Set(ids).size).toBe(120);
  expect(done.anybatch.provider_batches.map((b) => b.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  const errors = readJsonl<ResultLine>(done.anybatch.results!.errors_path);
  expect(errors.length).toBeGreaterThan(0);
  expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
  expect(done.request_counts!.completed).toBeGreaterThan(0);
});
