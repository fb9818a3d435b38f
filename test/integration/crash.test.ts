/**
 * Durability: the worker process is killed (SIGKILL) right after the provider accepted the batch, and again
 * in the middle of the results download. Restarted workers finish the batch with exactly one provider
 * batch and every custom_id once.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createBatch, retrieveBatch } from '../../src';
import { recordHistory } from '../support/histories';
import { eventually, readJsonl, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';

const WORKER = path.join(__dirname, '..', '..', 'dist', 'worker.js');
let env: TestEnv;
let worker: ChildProcess | null = null;

beforeAll(async () => {
  // No in-process worker: the worker under test is a child process we can kill.
  env = await startTestEnv({ faults: { createResponseDelayMs: 3_000, downloadBytesPerSecond: 150_000 } }, { worker: false });
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await env?.teardown();
});

function startWorker(): ChildProcess {
  const child = spawn(process.execPath, [WORKER], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, ANYBATCH_TASK_QUEUE: env.taskQueue, ANYBATCH_HOME: env.home, ANYBATCH_LOG_LEVEL: 'WARN' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

test('a worker killed after the provider accepted the batch, and again mid-download, loses nothing and duplicates nothing', async () => {
  const n = 3000;
  const input = writeChatInput(env.home, n);
  worker = startWorker();
  const created = await createBatch('openai', input, '/v1/chat/completions', {
    ...env.options,
    apiBase: env.apiBase,
    apiKey: 'crash-test-key',
    pollInterval: '500ms',
    noWait: true,
  });

  // The sandbox registered the batch but holds its HTTP response: the activity has not completed.
  await eventually(() => env.sandbox.stats().batchesCreated === 1, 60_000, 50);
  await kill(worker);

  worker = startWorker();
  await eventually(async () => (await retrieveBatch('openai', created.id, env.options)).status === 'finalizing' && env.sandbox.stats().contentDownloadsInFlight > 0, 180_000, 50);
  await kill(worker);

  worker = startWorker();
  const done = await eventually(async () => {
    const b = await retrieveBatch('openai', created.id, env.options);
    return b.status === 'completed' ? b : null;
  }, 180_000);
  await kill(worker);

  await recordHistory(env.client, created.id, 'worker-killed-twice');
  expect(env.sandbox.stats().batchesCreated).toBe(1);
  expect(done.anybatch.provider_batches).toHaveLength(1);
  const lines = [...readJsonl<{ custom_id: string }>(done.anybatch.results!.output_path), ...readJsonl<{ custom_id: string }>(done.anybatch.results!.errors_path)];
  const ids = lines.map((l) => l.custom_id);
  expect(ids).toHaveLength(n);
  expect(new Set(ids).size).toBe(n);
  expect(done.request_counts).toEqual({ total: n, completed: n, failed: 0 });
}, 400_000);
