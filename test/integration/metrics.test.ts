/**
 * Metrics: a worker process started with ANYBATCH_METRICS_ADDRESS serves Prometheus `/metrics` with the SDK's
 * `temporal_*` metrics and anybatch's `anybatch_*` (src/activities/metrics.ts), whose labels are bounded (no batch id);
 * a malformed address is refused at start, naming the variable.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { createBatch } from '../../src';
import { eventually, startTestEnv, writeChatInput, type TestEnv } from '../support/env';
import { untilTerminalBatch } from '../support/batches';

const WORKER = path.join(__dirname, '..', '..', 'dist', 'worker.js');
let env: TestEnv;
let worker: ChildProcess | null = null;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  env = await startTestEnv({}, { worker: false });
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await env?.teardown();
});

test('the worker serves temporal_ and anybatch_ metrics on ANYBATCH_METRICS_ADDRESS, labels bounded', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  worker = spawn(process.execPath, [WORKER], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, ANYBATCH_TASK_QUEUE: env.taskQueue, ANYBATCH_HOME: env.home, ANYBATCH_LOG_LEVEL: 'WARN', ANYBATCH_METRICS_ADDRESS: address },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const created = await createBatch('openai', writeChatInput(env.home, 20), '/v1/chat/completions', { ...env.options, apiBase: env.apiBase, apiKey: 'metrics-key', pollInterval: '200ms' });
  const done = await untilTerminalBatch('openai', created.id, env.options, 60_000);
  expect(done.status).toBe('completed');
  let text = '';
  await eventually(async () => {
    text = await (await fetch(`http://${address}/metrics`)).text();
    return /anybatch_batches_merged_total\{[^}]*provider="openai"[^}]*\} 1\b/.test(text);
  }, 30_000, 500);
  expect(text).toMatch(/^temporal_\w+/m);
  expect(text).toMatch(/anybatch_requests_total\{[^}]*outcome="succeeded"[^}]*provider="openai"[^}]*\} 20\b|anybatch_requests_total\{[^}]*provider="openai"[^}]*outcome="succeeded"[^}]*\} 20\b/);
  expect(text).toMatch(/anybatch_provider_calls_total\{[^}]*call="createPartBatch"[^}]*\} \d+/);
  expect(text).toMatch(/anybatch_provider_call_seconds_bucket\{/);
  // No label carries a batch id.
  expect(text).not.toContain(created.id);
});

test('a malformed ANYBATCH_METRICS_ADDRESS stops the worker at start, naming it', () => {
  const run = spawnSync(process.execPath, [WORKER], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, ANYBATCH_TASK_QUEUE: env.taskQueue, ANYBATCH_HOME: env.home, ANYBATCH_METRICS_ADDRESS: 'metrics-please' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('ANYBATCH_METRICS_ADDRESS="metrics-please" is not host:port');
});
