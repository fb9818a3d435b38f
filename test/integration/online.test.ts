/**
 * The `openai-compatible` provider end to end on the sandbox's online endpoint (no batch API): a job runs through
 * the online batch workflow and its results land in output.jsonl / errors.jsonl like any batch's; 429s are
 * honoured; a cancel stops the sending at once and accounts for the rest as batch_cancelled; a worker killed
 * (SIGKILL) mid-job is resumed by another without re-sending more than the stated bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cancelBatch, createBatch, retrieveBatch } from '../../src';
import { resultLinesOf } from '../../src/api';
import type { AnybatchBatch, CreateBatchOptions } from '../../src';
import { CHUNK_SIZE } from '../../src/activities/online';
import { onlineWorkflowId } from '../../src/online/messages';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { recordHistory } from '../support/histories';
import { accountFor } from '../support/batches';
import { eventually, startTestEnv, writeChatInput, type TestEnv } from '../support/env';
import { testS3Env } from '../support/s3';

const PROVIDER = 'openai-compatible';
const CHAT = '/v1/chat/completions';
const WORKER = path.join(__dirname, '..', '..', 'dist', 'worker.js');

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => env?.teardown());

function opts(more: CreateBatchOptions<typeof PROVIDER> = {}): CreateBatchOptions<typeof PROVIDER> {
  return { ...env.options, apiBase: env.sandbox.baseUrls.openai, apiKey: 'online-key', pollInterval: '200ms', ...more };
}

function untilTerminal(id: string, timeoutMs = 60_000): Promise<AnybatchBatch> {
  return eventually(async () => {
    const b = await retrieveBatch(PROVIDER, id, env.options);
    return ['completed', 'failed', 'cancelled', 'expired'].includes(b.status) ? b : null;
  }, timeoutMs, 100);
}

/** A sandbox of its own for a test (limits differ per test); the suite's worker serves every one. */
async function withLimits(limits: { rpm?: number; tpm?: number }): Promise<{ base: string; stats: Sandbox['stats']; close: () => Promise<void> }> {
  const sandbox = await startSandbox(limits);
  return { base: sandbox.baseUrls.openai, stats: () => sandbox.stats(), close: () => sandbox.close() };
}

test('a 200-request job completes through the online endpoint: every custom_id once, failures as error lines', async () => {
  const file = writeChatInput(env.home, 200);
  // One request the server refuses (400: kept at once), one it fails every time (500: retried, then kept).
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; body: Record<string, unknown> });
  lines[7]!.body.sandbox_error = 400;
  lines[9]!.body.sandbox_error = 500;
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const before = env.sandbox.stats().online;
  const created = await createBatch(PROVIDER, file, CHAT, opts({ rpm: 12_000, concurrency: 8, maxRetries: 1 }));
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('completed');
  expect(done.request_counts).toEqual({ total: 200, completed: 198, failed: 2 });
  const { output, errors } = accountFor(done, 200);
  expect(output).toHaveLength(198);
  const reply = output.find((l) => l.custom_id === 'req-3')!;
  expect(reply.response!.status_code).toBe(200);
  expect((reply.response!.body as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('Sandbox reply to: Question number 3: what is 3 + 3?');
  expect(errors.map((l) => [l.custom_id, l.response?.status_code]).sort()).toEqual([
    ['req-7', 400],
    ['req-9', 500],
  ]);
  const after = env.sandbox.stats().online;
  expect(after.completions - before.completions).toBe(198);
  expect(after.duplicates - before.duplicates).toBe(0);
  expect(done.anybatch.provider_batches).toHaveLength(1);
  await recordHistory(env.client, onlineWorkflowId(`${created.id}/0`), 'online-completed');
}, 90_000);

test("429s are honoured: with no client limit over the server's, every request still completes once", async () => {
  const server = await withLimits({ rpm: 600 }); // 10 a second
  try {
    const created = await createBatch(PROVIDER, writeChatInput(env.home, 40), CHAT, opts({ apiBase: server.base, concurrency: 6 }));
    const done = await untilTerminal(created.id);
    expect(done.status).toBe('completed');
    const { output } = accountFor(done, 40);
    expect(output).toHaveLength(40);
    const stats = server.stats().online;
    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(stats).toMatchObject({ completions: 40, duplicates: 0 });
  } finally {
    await server.close();
  }
}, 90_000);

test('a missing base URL fails the batch with what to set', async () => {
  const created = await createBatch(PROVIDER, writeChatInput(env.home, 2), CHAT, { ...env.options, apiKey: 'k', pollInterval: '200ms', noWait: true });
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('failed');
  expect(JSON.stringify(done.errors)).toMatch(/No OpenAI-compatible server base URL: pass --api-base .* OPENAI_COMPATIBLE_BASE_URL/);
}, 60_000);

test('cancel mid-way stops the sending at once; the requests not sent are batch_cancelled', async () => {
  const server = await withLimits({ rpm: 1200 });
  try {
    const n = 200;
    const created = await createBatch(PROVIDER, writeChatInput(env.home, n), CHAT, opts({ apiBase: server.base, rpm: 1200, concurrency: 4 }));
    await eventually(() => server.stats().online.completions >= 20, 30_000, 20);
    await cancelBatch(PROVIDER, created.id, env.options);
    const done = await untilTerminal(created.id);
    expect(done.status).toBe('cancelled');
    const { output, errors } = accountFor(done, n);
    const served = server.stats().online.completions;
    // Stopped within about a second of the cancel (20 a second), and nothing goes out after.
    expect(served).toBeLessThan(100);
    expect(output).toHaveLength(served);
    expect(errors).toHaveLength(n - served);
    expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(server.stats().online.completions).toBe(served);
    expect(server.stats().online.duplicates).toBe(0);
    await recordHistory(env.client, onlineWorkflowId(`${created.id}/0`), 'online-cancelled');
  } finally {
    await server.close();
  }
}, 90_000);

test('with an S3 store: the chunks are flushed to the bucket and the results read back from it', async () => {
  const s3 = testS3Env(`online-${crypto.randomBytes(4).toString('hex')}`);
  const saved = Object.fromEntries(Object.keys(s3).map((k) => [k, process.env[k]]));
  await env.stopWorker();
  Object.assign(process.env, s3);
  try {
    await env.startWorker();
    const created = await createBatch(PROVIDER, writeChatInput(env.home, 30), CHAT, opts({ concurrency: 4 }));
    const done = await untilTerminal(created.id);
    expect(done.status).toBe('completed');
    expect(done.anybatch.results!.output_uri).toMatch(/^s3:\/\//);
    const ids: string[] = [];
    for await (const line of resultLinesOf(done)) ids.push(line.custom_id);
    expect(ids.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `req-${i}`).sort());
  } finally {
    await env.stopWorker();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await env.startWorker();
  }
}, 60_000);

describe('a worker SIGKILLed mid-job', () => {
  let child: ChildProcess | null = null;
  const spawnWorker = (): ChildProcess =>
    spawn(process.execPath, [WORKER], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, ANYBATCH_TASK_QUEUE: env.taskQueue, ANYBATCH_HOME: env.home, ANYBATCH_LOG_LEVEL: 'WARN' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  const kill = async (c: ChildProcess): Promise<void> => {
    if (c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  afterAll(async () => {
    if (child) await kill(child);
  });

  test('is resumed by another from its flushed chunks, re-sending at most concurrency + chunk size requests', async () => {
    // The workers under test are child processes we can kill.
    await env.stopWorker();
    const server = await withLimits({ rpm: 3000 });
    try {
      const n = 600;
      const concurrency = 8;
      child = spawnWorker();
      const created = await createBatch(PROVIDER, writeChatInput(env.home, n), CHAT, opts({ apiBase: server.base, rpm: 3000, concurrency }));
      // Counts move as it goes, as any batch's do (the activity's heartbeats, read by the poll).
      const running = await eventually(async () => {
        const b = await retrieveBatch(PROVIDER, created.id, env.options);
        return b.request_counts!.completed >= 100 ? b : null;
      }, 60_000, 50);
      expect(running.status).toBe('in_progress');
      expect(running.request_counts!.total).toBe(n);
      expect(running.request_counts!.completed).toBeLessThan(n);
      await kill(child);
      const atKill = server.stats().online.completions;
      child = spawnWorker();
      const done = await untilTerminal(created.id, 120_000);
      expect(done.status).toBe('completed');
      const { output } = accountFor(done, n);
      expect(output).toHaveLength(n);
      const stats = server.stats().online;
      expect(atKill).toBeLessThan(n);
      expect(stats.distinct).toBe(n);
      expect(stats.duplicates).toBeLessThanOrEqual(concurrency + CHUNK_SIZE);
      expect(done.request_counts).toEqual({ total: n, completed: n, failed: 0 });
    } finally {
      await server.close();
      if (child) await kill(child);
      child = null;
      await env.startWorker();
    }
  }, 180_000);
});
