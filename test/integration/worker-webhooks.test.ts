/**
 * The worker receives provider webhooks itself (ANYBATCH_WEBHOOKS_ADDRESS): the real worker process (dist/worker.js)
 * serves /webhooks/openai, the sandbox sends OpenAI's signed batch events there, and a batch polled every 10 minutes
 * completes within seconds of its event. (The receiver's refusals and the control case without a wake are in
 * webhooks-in.test.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBatch } from '../../src';
import { freePort } from '../../src/temporal/devserver';
import { untilTerminalBatch } from '../support/batches';
import { startTestEnv, writeChatInput, type TestEnv } from '../support/env';

const WORKER = path.join(__dirname, '..', '..', 'dist', 'worker.js');
const SECRET = `whsec_${Buffer.from('worker-webhook-secret-for-tests!').toString('base64')}`;
let env: TestEnv;
let worker: ChildProcess | null = null;
let port: number;
let stderr = '';

beforeAll(async () => {
  port = await freePort();
  env = await startTestEnv({ webhook: { url: `http://127.0.0.1:${port}/webhooks/openai`, secret: SECRET } });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-worker-hooks-'));
  // A second worker, on a queue of its own (it runs no batch here): only its webhook receiver is under test.
  worker = spawn(process.execPath, [WORKER], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      ANYBATCH_TASK_QUEUE: `${env.taskQueue}-hooks`,
      ANYBATCH_HOME: home,
      ANYBATCH_STORAGE: '',
      ANYBATCH_WEBHOOKS_ADDRESS: `127.0.0.1:${port}`,
      OPENAI_WEBHOOK_SECRET: SECRET,
      OPENAI_API_KEY: 'receiver-key',
      OPENAI_BASE_URL: env.sandbox.baseUrls.openai,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  worker.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 60_000;
  while (!stderr.includes('provider webhooks on')) {
    if (worker.exitCode !== null || Date.now() > deadline) throw new Error(`the worker did not start its webhook receiver:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 90_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
  await env?.teardown();
});

test('the worker process serves /webhooks/openai: a bad signature is a 400, and a batch polled every 10 minutes completes within seconds of its event', async () => {
  expect(stderr).toContain(`anybatch worker: provider webhooks on http://127.0.0.1:${port}/webhooks/openai`);
  const body = JSON.stringify({ id: 'evt_x', type: 'batch.completed', created_at: 1, data: { id: 'batch_x' } });
  const id = 'msg_bad';
  const timestamp = Math.floor(Date.now() / 1000);
  const wrongKey = crypto.randomBytes(32);
  const bad = await fetch(`http://127.0.0.1:${port}/webhooks/openai`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${crypto.createHmac('sha256', wrongKey).update(`${id}.${timestamp}.${body}`).digest('base64')}` },
  });
  expect(bad.status).toBe(400);

  // 2,000 requests at the sandbox's 200 a second: ten seconds in progress, so the part's wait sleeps its 10 minutes
  // after its first look; only the event can end it within the 90 s below.
  const opts = { ...env.options, apiBase: env.sandbox.baseUrls.openai, apiKey: 'k', pollInterval: '10m' };
  const created = await createBatch('openai', writeChatInput(env.home, 2000, { prefix: 'hooked' }), '/v1/chat/completions', opts);
  const done = await untilTerminalBatch('openai', created.id, env.options, 90_000);
  expect(done.status).toBe('completed');
  expect(done.request_counts).toEqual({ total: 2000, completed: 2000, failed: 0 });
});
