/**
 * anybatch's own webhooks out (issue 20 §2): a batch created with `webhook: { url }` POSTs a Standard Webhooks event
 * when it ends, verified here with the `standardwebhooks` library (no one here wrote it) against the worker's secret;
 * a failing receiver is retried with the same event id; a target that resolves to a loopback address is refused
 * unless the operator allows it, and the batch still ends as it would have; a bad URL is refused before anything
 * starts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createBatch } from '../../src';
import { untilTerminalBatch } from '../support/batches';
import { recordHistory } from '../support/histories';
import { startTestEnv, writeChatInput, eventually, type TestEnv } from '../support/env';

const SECRET = `whsec_${Buffer.from('anybatch-test-webhook-secret-0123456789').toString('base64')}`;
let env: TestEnv;
let receiver: http.Server;
let url: string;
const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
/** How many of the next deliveries the receiver answers 503. */
let failNext = 0;

beforeAll(async () => {
  process.env.ANYBATCH_WEBHOOK_SECRET = SECRET;
  process.env.ANYBATCH_WEBHOOK_ALLOW_PRIVATE = '1';
  env = await startTestEnv();
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
      } else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/anybatch`;
});
afterAll(async () => {
  delete process.env.ANYBATCH_WEBHOOK_SECRET;
  delete process.env.ANYBATCH_WEBHOOK_ALLOW_PRIVATE;
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  await env?.teardown();
});

const opts = (more: Record<string, unknown> = {}) => ({ ...env.options, apiBase: env.apiBase, apiKey: 'webhook-key', pollInterval: '200ms', ...more });

test('an ended batch posts a signed event the Standard Webhooks library verifies; a 503 is retried with the same id', async () => {
  received.length = 0;
  failNext = 1;
  const created = await createBatch('openai', writeChatInput(env.home, 10), '/v1/chat/completions', opts({ webhook: { url } }));
  const done = await untilTerminalBatch('openai', created.id, env.options, 60_000);
  expect(done.status).toBe('completed');
  await eventually(() => received.length >= 2, 30_000, 100);
  const [first, second] = received;
  expect(first.headers['webhook-id']).toBe(second.headers['webhook-id']);
  const event = new Webhook(SECRET).verify(second.body, {
    'webhook-id': String(second.headers['webhook-id']),
    'webhook-timestamp': String(second.headers['webhook-timestamp']),
    'webhook-signature': String(second.headers['webhook-signature']),
  }) as { type: string; data: { id: string; status: string; request_counts: { completed: number } } };
  expect(event.type).toBe('anybatch.batch.completed');
  expect(event.data).toMatchObject({ id: created.id, status: 'completed', request_counts: { completed: 10 } });
  await recordHistory(env.client, created.id, 'webhook-delivered');
  // A wrong secret does not verify: the signature is the worker's.
  expect(() => new Webhook(`whsec_${Buffer.from('another-secret-entirely-0123456789').toString('base64')}`).verify(second.body, second.headers as Record<string, string>)).toThrow();
});

test('a target on a loopback address is refused unless the operator allows it; the batch ends as it would have', async () => {
  received.length = 0;
  delete process.env.ANYBATCH_WEBHOOK_ALLOW_PRIVATE;
  try {
    const created = await createBatch('openai', writeChatInput(env.home, 5), '/v1/chat/completions', opts({ webhook: { url } }));
    const done = await untilTerminalBatch('openai', created.id, env.options, 60_000);
    expect(done.status).toBe('completed');
    // The refusal is the delivery's, in history; nothing reached the receiver.
    const history = await env.client.workflow.getHandle(created.id).fetchHistory();
    const failure = JSON.stringify(history.events?.filter((e) => e.activityTaskFailedEventAttributes) ?? []);
    expect(failure).toContain('webhook_refused');
    expect(failure).toContain('resolves to 127.0.0.1');
    expect(received).toHaveLength(0);
  } finally {
    process.env.ANYBATCH_WEBHOOK_ALLOW_PRIVATE = '1';
  }
});

test('a webhook URL that is not http(s), or holds credentials, is refused before anything starts', async () => {
  await expect(createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', opts({ webhook: { url: 'ftp://example.com/x' } }))).rejects.toThrow(/webhook\.url must be an http:\/\/ or https:\/\/ URL/);
  await expect(createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', opts({ webhook: { url: 'https://user:pw@example.com/x' } }))).rejects.toThrow(/must not hold a user or password/);
});
