/**
 * Gemini's static webhooks in: the sandbox sends Gemini's batch events (the documented thin envelope, signed the
 * Standard Webhooks way) to the receiver's /webhooks/gemini (src/webhooks/receiver.ts, ./gemini.ts), which reads the
 * batch from Gemini, finds anybatch's batch in its displayName and wakes its wait: a batch polled every 10 minutes
 * completes within seconds of the event, while a control batch whose event was not acted on is still waiting.
 * Bad or stale signatures and malformed bodies are 400 and act on nothing; replays, events of other kinds and
 * batches that are not anybatch's are 200 and ignored; no secret reaches the log.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cancelBatch, createBatch, retrieveBatch } from '../../src';
import { createWebhookReceiver, type WebhookReceiver } from '../../src/webhooks/receiver';
import { untilTerminalBatch } from '../support/batches';
import { eventually, startTestEnv, writeChatInput, type TestEnv } from '../support/env';

const KEY = Buffer.from('gemini-webhook-secret-for-tests!');
const SECRET = `whsec_${KEY.toString('base64')}`;
const API_KEY = 'gemini-receiver-key-not-for-logs';
const MODEL = 'gemini-2.5-flash';
let env: TestEnv;
let server: http.Server;
let receiverUrl: string;
let receiver: WebhookReceiver | null = null;
const logs: string[] = [];
/** When false the receiver's stand-in acknowledges events without acting (the control case), counting them. */
let acting = true;
let acknowledged = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver.invalid');
    // Made at the first event, once the sandbox (the provider it reads batches from) and Temporal are known.
    receiver ??= createWebhookReceiver({
      client: env.options,
      env: { GEMINI_WEBHOOK_SECRET: SECRET, GEMINI_API_KEY: API_KEY, GEMINI_BASE_URL: env.sandbox.baseUrls.gemini },
      log: (line) => logs.push(line),
    });
    if (!acting) {
      req.resume();
      req.once('end', () => {
        acknowledged++;
        res.writeHead(200).end();
      });
      return;
    }
    void receiver.handle(req, res, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/gemini`;
  env = await startTestEnv({ geminiWebhook: { url: receiverUrl, secret: SECRET } });
});
afterAll(async () => {
  await env?.teardown();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

function signed(body: string, opts: { key?: Buffer; timestamp?: number; id?: string } = {}): Record<string, string> {
  const id = opts.id ?? `msg_${crypto.randomBytes(8).toString('hex')}`;
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const mac = crypto.createHmac('sha256', opts.key ?? KEY).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${mac}` };
}

const event = (type: string, data: Record<string, unknown>) => JSON.stringify({ type, version: 'v1', timestamp: new Date().toISOString(), data });
const post = (body: string, headers: Record<string, string>) => fetch(receiverUrl, { method: 'POST', body, headers });

/** The `providerBatchEvent` signals the batch's workflow received, as sent. */
async function wakeSignals(batchId: string): Promise<Array<{ provider: string; providerBatchId: string; type: string }>> {
  const history = await env.client.workflow.getHandle(batchId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const signal = e.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName !== 'providerBatchEvent') return [];
    return (signal.input?.payloads ?? []).map((p) => JSON.parse(Buffer.from(p.data!).toString('utf8')) as { provider: string; providerBatchId: string; type: string });
  });
}

test('a Gemini batch polled every 10 minutes completes within seconds of its webhook; the control without it still waits', async () => {
  const opts = { ...env.options, apiBase: env.sandbox.baseUrls.gemini, apiKey: 'k', pollInterval: '10m' };
  // 2,000 requests at the sandbox's 200 a second: ten seconds running, so each part's wait sleeps its 10 minutes.
  // Control: its event is acknowledged without acting, once Gemini (the sandbox) has ended the batch.
  acting = false;
  const control = await createBatch('gemini', writeChatInput(env.home, 2000, { prefix: 'ctl', model: MODEL }), '/v1/chat/completions', opts);
  try {
    await eventually(() => acknowledged >= 1, 60_000, 100);
  } finally {
    acting = true;
  }
  expect(env.sandbox.stats().providers.gemini?.batchesByStatus.BATCH_STATE_SUCCEEDED).toBe(1);

  const created = await createBatch('gemini', writeChatInput(env.home, 2000, { model: MODEL }), '/v1/chat/completions', opts);
  const done = await untilTerminalBatch('gemini', created.id, env.options, 90_000);
  expect(done.status).toBe('completed');
  expect(done.request_counts).toEqual({ total: 2000, completed: 2000, failed: 0 });
  // The receiver signalled it with the event it verified, naming its provider batch.
  expect(await wakeSignals(created.id)).toEqual([{ provider: 'gemini', providerBatchId: done.anybatch.provider_batches[0].id, type: 'batch.succeeded' }]);
  // The control's provider batch ended before this one was even created, and it still shows what its last poll saw.
  expect(['validating', 'in_progress']).toContain((await retrieveBatch('gemini', control.id, env.options)).status);
  expect(await wakeSignals(control.id)).toEqual([]);
  await cancelBatch('gemini', control.id, env.options);
  expect(logs.join('\n')).not.toContain(KEY.toString('base64'));
  expect(logs.join('\n')).not.toContain(API_KEY);
});

test('bad or stale signatures and malformed bodies are 400 and act on nothing; replays, other events and strangers are 200 and ignored', async () => {
  const body = event('batch.succeeded', { id: 'unknownbatch000' });
  expect((await post(body, signed(body, { key: Buffer.from('the-wrong-secret-entirely-00000!') }))).status).toBe(400);
  expect((await post(body, signed(body, { timestamp: Math.floor(Date.now() / 1000) - 3600 }))).status).toBe(400);
  expect((await post('{not json', signed('{not json'))).status).toBe(400);
  const noBatch = event('batch.failed', { error_code: 3 });
  expect((await post(noBatch, signed(noBatch))).status).toBe(400);
  expect((await post(body, { 'content-type': 'application/json' })).status).toBe(400);

  // A batch Gemini does not know: acknowledged, ignored; the same event again is a replay.
  const headers = signed(body, { id: 'msg_replayed_once' });
  const first = await post(body, headers);
  expect(first.status).toBe(200);
  expect(await first.json()).toEqual({ status: 'ignored', reason: 'unknown batch' });
  const replay = await post(body, headers);
  expect(replay.status).toBe(200);
  expect(await replay.json()).toEqual({ status: 'duplicate' });

  // A batch Gemini has, made by someone else (its displayName is not anybatch's): acknowledged, ignored.
  const made = await fetch(`${env.sandbox.baseUrls.gemini}/v1beta/models/${MODEL}:batchGenerateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': 'k' },
    body: JSON.stringify({ batch: { displayName: 'My Setup', inputConfig: { requests: { requests: [{ request: { contents: [{ parts: [{ text: 'hi' }] }] } }] } } } }),
  });
  const stranger = ((await made.json()) as { name: string }).name;
  for (const id of [stranger, stranger.replace(/^batches\//, '')]) {
    const strangerEvent = event('batch.succeeded', { id });
    const answer = await post(strangerEvent, signed(strangerEvent));
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ status: 'ignored', reason: 'not an anybatch batch' });
  }

  // Events that do not end a batch are acknowledged and ignored.
  const video = event('video.generated', { id: 'op-1', file_name: 'files/v' });
  const other = await post(video, signed(video));
  expect(other.status).toBe(200);
  expect(await other.json()).toMatchObject({ status: 'ignored' });
  expect((await fetch(receiverUrl)).status).toBe(405);
  expect(logs.join('\n')).not.toContain(KEY.toString('base64'));
  expect(logs.join('\n')).not.toContain(API_KEY);
});
