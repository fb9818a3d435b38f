/** A Message Batch's life through the official SDK: run to ended, cancel, expiry, delete, on real and injected clocks. */
import type Anthropic from '@anthropic-ai/sdk';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { anthropicFor, byCustomId, ids, request, results, waitEnded } from './anthropic-helpers';

const RFC3339_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const START = Date.UTC(2030, 0, 1);

let sandbox: Sandbox;
let client: Anthropic;
/** A second sandbox on an injected clock, for states that must be caught at an exact moment. */
let clocked: Sandbox;
let clockedClient: Anthropic;
let now = START;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 1000, cancellingMs: 20 });
  client = anthropicFor(sandbox);
  clocked = await startSandbox({ now: () => now, rate: 10, cancellingMs: 300, faults: { expireAfterSeconds: 3600 } });
  clockedClient = anthropicFor(clocked);
});

afterAll(async () => {
  await Promise.all([sandbox.close(), clocked.close()]);
});

test('a new batch is in_progress with every field present and every request processing', async () => {
  const created = await client.messages.batches.create({ requests: ids(3).map((id) => request(id)) });
  expect(created).toEqual({
    id: expect.stringMatching(/^msgbatch_01\w{22}$/),
    type: 'message_batch',
    processing_status: 'in_progress',
    request_counts: { processing: 3, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
    ended_at: null,
    created_at: expect.stringMatching(RFC3339_MICROS),
    expires_at: expect.stringMatching(RFC3339_MICROS),
    archived_at: null,
    cancel_initiated_at: null,
    results_url: null,
  });
  expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(24 * 3600 * 1000);
});

test('a batch runs to ended and results() yields every custom_id exactly once with a Message', async () => {
  const all = ids(30);
  const created = await client.messages.batches.create({ requests: all.map((id) => request(id)) });
  const ended = await waitEnded(client, created.id);
  expect(ended.request_counts).toEqual({ processing: 0, succeeded: 30, errored: 0, canceled: 0, expired: 0 });
  expect(ended.ended_at).toMatch(RFC3339_MICROS);
  expect(ended.results_url).toBe(`${sandbox.url}/v1/messages/batches/${created.id}/results`);

  const lines = await results(client, created.id);
  expect(lines.map((l) => l.custom_id).sort()).toEqual([...all].sort());
  const first = byCustomId(lines).get('req-0');
  expect(first).toMatchObject({
    type: 'succeeded',
    message: {
      id: expect.stringMatching(/^msg_01/),
      type: 'message',
      role: 'assistant',
      model: 'claude-sandbox-1',
      content: [{ type: 'text', text: 'Sandbox reply to: Say hello to req-0' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, service_tier: 'batch' },
    },
  });
});

test('results come back in an order other than the request order, the same on every read', async () => {
  const all = ids(10);
  const created = await client.messages.batches.create({ requests: all.map((id) => request(id)) });
  await waitEnded(client, created.id);
  const first = await results(client, created.id);
  expect(first.map((l) => l.custom_id)).not.toEqual(all);
  expect(await results(client, created.id)).toEqual(first);
});

test('request_counts stay all processing until the end, then fill the final buckets at once', async () => {
  const created = await clockedClient.messages.batches.create({ requests: ids(20).map((id) => request(id)) });
  expect(created.created_at).toBe('2030-01-01T00:00:00.000000Z');
  now += 1500; // 15 of 20 processed
  const running = await clockedClient.messages.batches.retrieve(created.id);
  expect([running.processing_status, running.request_counts.processing]).toEqual(['in_progress', 20]);
  now += 500;
  const ended = await clockedClient.messages.batches.retrieve(created.id);
  expect(ended.processing_status).toBe('ended');
  expect(ended.ended_at).toBe('2030-01-01T00:00:02.000000Z');
  expect(ended.request_counts).toEqual({ processing: 0, succeeded: 20, errored: 0, canceled: 0, expired: 0 });
  expect(clocked.stats().batchesByStatus).toMatchObject({ 'anthropic:ended': 1 });
});

test('a cancel mid-run goes canceling, then ends with the unprocessed requests canceled', async () => {
  const created = await clockedClient.messages.batches.create({ requests: ids(20).map((id) => request(id)) });
  now += 500; // 5 of 20 processed
  const canceling = await clockedClient.messages.batches.cancel(created.id);
  expect(canceling.processing_status).toBe('canceling');
  expect(canceling.cancel_initiated_at).toBe(new Date(now).toISOString().replace('Z', '000Z'));
  expect(canceling.request_counts.processing).toBe(20);
  expect((await clockedClient.messages.batches.cancel(created.id)).processing_status).toBe('canceling');

  now += 300;
  const ended = await clockedClient.messages.batches.retrieve(created.id);
  expect(ended.processing_status).toBe('ended');
  expect(ended.request_counts).toEqual({ processing: 0, succeeded: 5, errored: 0, canceled: 15, expired: 0 });
  const lines = await results(clockedClient, created.id);
  expect(lines).toHaveLength(20);
  expect(lines.filter((l) => l.result.type === 'canceled')).toHaveLength(15);
  expect(lines.filter((l) => l.result.type === 'succeeded').map((l) => l.custom_id).sort()).toEqual(ids(5).sort());
  expect(clocked.stats().messageBatchCancels).toBe(1);
});

test('a batch past its expiry ends with the unprocessed requests expired', async () => {
  const expiring = await startSandbox({ now: () => now, rate: 10, faults: { expireAfterSeconds: 1 } });
  try {
    const expiringClient = anthropicFor(expiring);
    const created = await expiringClient.messages.batches.create({ requests: ids(20).map((id) => request(id)) });
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(1000);
    now += 1000; // 10 of 20 processed when it expires
    const ended = await expiringClient.messages.batches.retrieve(created.id);
    expect(ended.ended_at).toBe(created.expires_at);
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 10, errored: 0, canceled: 0, expired: 10 });
    const lines = await results(expiringClient, created.id);
    expect(lines.filter((l) => l.result.type === 'expired').map((l) => l.custom_id).sort()).toEqual(ids(20).slice(10).sort());
  } finally {
    await expiring.close();
  }
});

test('cancel of an ended batch is refused with 400 invalid_request_error', async () => {
  const created = await client.messages.batches.create({ requests: [request('only')] });
  await waitEnded(client, created.id);
  await expect(client.messages.batches.cancel(created.id)).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
});

test('delete is refused while processing and allowed once ended', async () => {
  const created = await clockedClient.messages.batches.create({ requests: ids(5).map((id) => request(id)) });
  await expect(clockedClient.messages.batches.delete(created.id)).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
  now += 1000;
  expect(await clockedClient.messages.batches.delete(created.id)).toEqual({ id: created.id, type: 'message_batch_deleted' });
  await expect(clockedClient.messages.batches.retrieve(created.id)).rejects.toMatchObject({ status: 404, type: 'not_found_error' });
});
