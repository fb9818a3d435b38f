/**
 * Issue 17, credentials, end to end on the run's Temporal dev server, the sandbox and an in-process worker:
 * - createBatch seals the caller's apiKey for its batch; the worker (and the admission budget) open it and the
 *   batch completes.
 * - The sealed apiKey of batch A, copied into a workflow started by hand on the task queue as batch B, does not open:
 *   B fails at once with `bad_credentials` and nothing reaches the provider.
 * - A batch with no apiKey and an apiBase the operator did not allow: refused at createBatch; a workflow started by
 *   hand with such a spec fails at once on the worker with `api_base_not_allowed`, nothing sent. Once the base is in
 *   ANYBATCH_ALLOWED_API_BASES the same batch runs with the worker's key.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createBatch, retrieveBatch } from '../../src';
import type { AnybatchBatch } from '../../src';
import { clientStore } from '../../src/config';
import { BATCH_WORKFLOW_TYPE } from '../../src/contract/messages';
import type { BatchJobInput } from '../../src/contract/part';
import type { BatchSpec } from '../../src/contract/spec';
import { LocalBlobStore } from '../../src/storage';
import { layout } from '../../src/storage/layout';
import { eventually, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';

let env: TestEnv;
const ENV = ['OPENAI_API_KEY', 'ANYBATCH_ALLOWED_API_BASES', 'ANYBATCH_SECRET_KEY', 'ANYBATCH_SECRET_KEYS'] as const;
const saved: Record<string, string | undefined> = {};
const CALLER_KEY = 'sk-caller-e2e-Secret0123456789';
const WORKER_KEY = 'sk-worker-e2e-Secret0123456789';

beforeAll(async () => {
  for (const k of ENV) saved[k] = process.env[k];
  for (const k of ENV) delete process.env[k];
  process.env.ANYBATCH_SECRET_KEYS = crypto.randomBytes(32).toString('base64');
  process.env.OPENAI_API_KEY = WORKER_KEY;
  env = await startTestEnv();
});
afterAll(async () => {
  await env?.teardown();
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});
afterEach(() => {
  delete process.env.ANYBATCH_ALLOWED_API_BASES;
});

async function untilTerminal(id: string, timeoutMs = 60_000): Promise<AnybatchBatch> {
  return eventually(async () => {
    const b = await retrieveBatch('openai', id, env.options);
    return ['completed', 'failed', 'expired', 'cancelled'].includes(b.status) ? b : null;
  }, timeoutMs, 100);
}

async function specOf(id: string): Promise<BatchSpec> {
  const history = await env.client.workflow.getHandle(id).fetchHistory();
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  return (JSON.parse(Buffer.from(payload.data!).toString('utf8')) as BatchJobInput).spec;
}

/** What someone who may start workflows on the task queue can do: stage an input and start a batch of any spec. */
async function startByHand(template: BatchSpec, connection: BatchSpec['connection'], n = 3): Promise<string> {
  const store = clientStore();
  if (!(store instanceof LocalBlobStore)) throw new Error('expected the local store');
  const batchId = `ab_sec_${crypto.randomBytes(6).toString('hex')}`;
  const lines = fs.readFileSync(writeChatInput(env.home, n), 'utf8');
  const ids = lines.split('\n').filter(Boolean).map((l) => JSON.stringify((JSON.parse(l) as { custom_id: string }).custom_id) + '\n').join('');
  await store.put(layout.input(batchId), lines);
  await store.put(layout.inputIds(batchId), ids);
  const spec: BatchSpec = {
    ...template,
    batchId,
    input: { ...template.input, path: store.uri(layout.input(batchId)), requestCount: n, bytes: Buffer.byteLength(lines) },
    storage: { uri: store.rootUri(), inputKey: layout.input(batchId), resultsPrefix: layout.results(batchId) },
    resultsDir: path.join(store.root, 'results', batchId),
    connection,
    admission: undefined,
  };
  await env.client.workflow.start(BATCH_WORKFLOW_TYPE, { workflowId: batchId, taskQueue: env.taskQueue, args: [{ spec } satisfies BatchJobInput] });
  return batchId;
}

let first: { id: string; spec: BatchSpec };

test("the caller's apiKey is sealed for its batch, opened by the worker and the admission budget, and the batch completes", async () => {
  const created = await createBatch('openai', writeChatInput(env.home, 3), '/v1/chat/completions', {
    ...env.options,
    apiBase: env.apiBase,
    apiKey: CALLER_KEY,
    pollInterval: '200ms',
    admission: { enqueuedTokens: 10_000_000 },
  });
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('completed');
  const spec = await specOf(created.id);
  expect(spec.connection.sealed).toMatch(/^v2:[0-9a-f]{8}:/);
  expect(JSON.stringify(await env.client.workflow.getHandle(created.id).fetchHistory())).not.toContain(CALLER_KEY);
  first = { id: created.id, spec };
});

test("batch A's sealed apiKey in a workflow started as batch B fails at once, and nothing reaches the provider", async () => {
  const before = env.sandbox.stats();
  const id = await startByHand(first.spec, first.spec.connection);
  const done = await untilTerminal(id);
  expect(done.status).toBe('failed');
  expect(done.anybatch.failure).toMatch(/sealed for another batch/);
  expect(done.anybatch.failure).not.toContain(CALLER_KEY);
  const after = env.sandbox.stats();
  expect([after.filesCreated, after.batchesCreated]).toEqual([before.filesCreated, before.batchesCreated]);
});

test('no apiKey and an apiBase not allowed: refused at createBatch, and on the worker before any call', async () => {
  const err = await createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', { ...env.options, apiBase: env.apiBase, pollInterval: '200ms' }).catch((e: unknown) => e as Error);
  expect((err as Error).name).toBe('UsageError');
  expect((err as Error).message).toContain(env.apiBase);
  expect((err as Error).message).toContain('ANYBATCH_ALLOWED_API_BASES');

  const before = env.sandbox.stats();
  const id = await startByHand(first.spec, { apiBase: env.apiBase, sealed: null });
  const done = await untilTerminal(id);
  expect(done.status).toBe('failed');
  expect(done.anybatch.failure).toContain(env.apiBase);
  expect(done.anybatch.failure).toContain('ANYBATCH_ALLOWED_API_BASES');
  expect(done.anybatch.failure).not.toContain(WORKER_KEY);
  const after = env.sandbox.stats();
  expect([after.filesCreated, after.batchesCreated, after.requests]).toEqual([before.filesCreated, before.batchesCreated, before.requests]);
});

test("with the base in ANYBATCH_ALLOWED_API_BASES the same batch runs on the worker's key", async () => {
  process.env.ANYBATCH_ALLOWED_API_BASES = env.apiBase;
  const created = await createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', { ...env.options, apiBase: env.apiBase, pollInterval: '200ms' });
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('completed');
  expect((await specOf(created.id)).connection.sealed).toBeNull();
});
