/** Listing Message Batches: newest first, SDK auto-pagination both ways, and the beta namespace. */
import type Anthropic from '@anthropic-ai/sdk';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { anthropicFor, HEADERS, request, waitEnded } from './anthropic-helpers';

const COUNT = 25;

let sandbox: Sandbox;
let client: Anthropic;
/** Batch ids, oldest first. */
const created: string[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 1000 });
  client = anthropicFor(sandbox);
  for (let i = 0; i < COUNT; i++) created.push((await client.messages.batches.create({ requests: [request(`b${i}`)] })).id);
});

afterAll(async () => {
  await sandbox.close();
});

test('auto-pagination with limit 10 visits every batch once, newest first', async () => {
  const seen: string[] = [];
  for await (const batch of client.messages.batches.list({ limit: 10 })) seen.push(batch.id);
  expect(seen).toEqual([...created].reverse());
});

test('a page carries has_more, first_id and last_id, and after_id continues past last_id', async () => {
  const page = await client.messages.batches.list({ limit: 10 });
  expect(page.data.map((b) => b.id)).toEqual([...created].reverse().slice(0, 10));
  expect([page.has_more, page.first_id, page.last_id]).toEqual([true, created[COUNT - 1], created[COUNT - 10]]);
  const next = await client.messages.batches.list({ limit: 10, after_id: page.last_id as string });
  expect(next.data[0].id).toBe(created[COUNT - 11]);
});

test('before_id pages backwards to newer batches, each page still newest first', async () => {
  const page = await client.messages.batches.list({ limit: 10, before_id: created[0] });
  expect(page.data.map((b) => b.id)).toEqual(created.slice(1, 11).reverse());
  expect(page.has_more).toBe(true);

  const seen: string[] = [];
  for await (const batch of client.messages.batches.list({ limit: 10, before_id: created[0] })) seen.push(batch.id);
  expect([...seen].sort()).toEqual(created.slice(1).sort());
  expect(new Set(seen).size).toBe(COUNT - 1);
});

test('a page past the oldest batch is empty with null ids', async () => {
  const page = await client.messages.batches.list({ after_id: created[0] });
  expect([page.data, page.has_more, page.first_id, page.last_id]).toEqual([[], false, null, null]);
});

test('limit outside 1..1000 is refused with 400', async () => {
  for (const limit of ['0', '1001', 'x']) {
    const res = await fetch(`${sandbox.url}/v1/messages/batches?limit=${limit}`, { headers: HEADERS });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  }
});

test('the beta namespace (?beta=true) creates, retrieves, lists and reads results like the main one', async () => {
  const beta = client.beta.messages.batches;
  const batch = await beta.create({ requests: [request('beta-1')] });
  expect(batch.type).toBe('message_batch');
  const ended = await waitEnded(client, batch.id);
  expect((await beta.retrieve(batch.id)).results_url).toBe(ended.results_url);
  expect((await beta.list({ limit: 1 })).data[0].id).toBe(batch.id);
  const lines = [];
  for await (const line of await beta.results(batch.id)) lines.push(line);
  expect(lines).toMatchObject([{ custom_id: 'beta-1', result: { type: 'succeeded' } }]);
});
