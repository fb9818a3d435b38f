/**
 * Provider webhooks in (issue 20 §1): the sandbox sends OpenAI's batch webhooks (as OpenAI signs them) to the
 * receiver (src/webhooks/receiver.ts, verified with the `openai` SDK's own `webhooks.unwrap`), which finds the anybatch
 * batch from the provider batch's `anybatch_key` and wakes its wait: a batch polled every 10 minutes completes within
 * seconds. Bad or stale signatures, malformed bodies, replays and batches that are not anybatch's never act.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cancelBatch, createBatch, retrieveBatch } from '../../src';
import { createWebhookReceiver, type WebhookReceiver } from '../../src/webhooks/receiver';
import { untilTerminalBatch } from '../support/batches';
import { recordHistory } from '../support/histories';
import { eventually, startTestEnv, writeChatInput, type TestEnv } from '../support/env';

const SECRET = `whsec_${Buffer.from('openai-webhook-secret-for-tests!').toString('base64')}`;
let env: TestEnv;
let server: http.Server;
let receiverUrl: string;
let receiver: WebhookReceiver | null = null;
const answers: number[] = [];
/** When false the receiver acknowledges events without acting (the control case). */
let acting = true;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver.invalid');
    // Made at the first event, once the sandbox (the provider it reads batches from) and Temporal are known.
    receiver ??= createWebhookReceiver({
      client: env.options,
      env: { OPENAI_WEBHOOK_SECRET: SECRET, OPENAI_API_KEY: 'receiver-key', OPENAI_BASE_URL: env.sandbox.baseUrls.openai },
      log: () => undefined,
    });
    res.once('finish', () => answers.push(res.statusCode));
    if (!acting) {
      req.resume();
      res.writeHead(200).end();
      return;
    }
    void receiver.handle(req, res, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/openai`;
  env = await startTestEnv({ webhook: { url: receiverUrl, secret: SECRET } });
});
afterAll(async () => {
  await env?.teardown();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

function signed(body: string, opts: { secret?: string; timestamp?: number; id?: string } = {}): Record<string, string> {
  const id = opts.id ?? `evt_${crypto.randomBytes(8).toString('hex')}`;
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const key = Buffer.from((opts.secret ?? SECRET).replace(/^whsec_/, ''), 'base64');
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${crypto.createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}` };
}

const post = async (body: string, headers: Record<string, string>) => (await fetch(receiverUrl, { method: 'POST', body, headers })).status;

test('a batch polled every 10 minutes completes within seconds of the provider webhook; without it, it waits', async () => {
  const opts = { ...env.options, apiBase: env.sandbox.baseUrls.openai, apiKey: 'k', pollInterval: '10m' };
  // 2,000 requests at the sandbox's 200 a second: ten seconds in progress, so the part's wait sleeps its 10 minutes.
  // Control: the receiver acknowledges but does not act, and the batch is still waiting after the provider finished.
  acting = false;
  try {
    const control = await createBatch('openai', writeChatInput(env.home, 2000, { prefix: 'ctl' }), '/v1/chat/completions', opts);
    await eventually(async () => (env.sandbox.stats().providers.openai?.batchesByStatus.completed ?? 0) >= 1, 60_000, 200);
    await new Promise((r) => setTimeout(r, 3000));
    // The provider finished seconds ago; the batch still shows what its last poll saw.
    expect(['validating', 'in_progress']).toContain((await retrieveBatch('openai', control.id, env.options)).status);
    await cancelBatch('openai', control.id, env.options);
  } finally {
    acting = true;
  }

  const created = await createBatch('openai', writeChatInput(env.home, 2000), '/v1/chat/completions', opts);
  const done = await untilTerminalBatch('openai', created.id, env.options, 90_000);
  expect(done.status).toBe('completed');
  expect(done.request_counts).toEqual({ total: 2000, completed: 2000, failed: 0 });
  // It ended long before its 10-minute poll (the control above shows it would still be waiting): the webhook woke it.
  expect(answers).toContain(200);
  await recordHistory(env.client, created.id, 'woken-by-webhook');
});

test('bad or stale signatures and malformed bodies are 400 and act on nothing; replays and strangers are 200 and ignored', async () => {
  const event = (id: string) => JSON.stringify({ id: 'evt_x', object: 'event', type: 'batch.completed', created_at: Math.floor(Date.now() / 1000), data: { id } });
  const body = event('batch_not_anybatch_00000000');
  expect(await post(body, signed(body, { secret: `whsec_${Buffer.from('the-wrong-secret-entirely-0000').toString('base64')}` }))).toBe(400);
  expect(await post(body, signed(body, { timestamp: Math.floor(Date.now() / 1000) - 3600 }))).toBe(400);
  expect(await post('{not json', signed('{not json'))).toBe(400);
  expect(await post(body, { 'content-type': 'application/json' })).toBe(400);
  // A batch the provider does not know (or that is not anybatch's): acknowledged, ignored.
  const headers = signed(body, { id: 'evt_replayed_once' });
  const first = await fetch(receiverUrl, { method: 'POST', body, headers });
  expect(first.status).toBe(200);
  expect(await first.json()).toMatchObject({ status: 'ignored' });
  const replay = await fetch(receiverUrl, { method: 'POST', body, headers });
  expect(replay.status).toBe(200);
  expect(await replay.json()).toEqual({ status: 'duplicate' });
  expect((await fetch(receiverUrl)).status).toBe(405);
});
