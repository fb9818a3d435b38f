/** The HTTP surface as clients see it: auth, request ids, error shapes, files, synchronous checks and listing. */
import fs from 'node:fs';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { chatLine, clientFor, tempDir, upload, writeJsonl } from './helpers';

let sandbox: Sandbox;
let client: OpenAI;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 50, finalizingMs: 20, maxBytes: 64 * 1024 });
  client = clientFor(sandbox);
  dir = tempDir();
});

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function batchInput(name = 'input.jsonl'): Promise<string> {
  return upload(client, writeJsonl(dir, name, [chatLine('one')]));
}

test('a request without an API key gets 401 invalid_api_key with a request id', async () => {
  const keyless = new OpenAI({ baseURL: `${sandbox.url}/v1`, apiKey: 'placeholder', maxRetries: 0, defaultHeaders: { authorization: null } });
  const error = await keyless.batches.list().catch((err: unknown) => err);
  expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  expect(error).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
  expect((error as InstanceType<typeof OpenAI.AuthenticationError>).requestID).toMatch(/^req_[0-9a-f]+$/);
});

test('with apiKey set, only that key is accepted', async () => {
  const locked = await startSandbox({ apiKey: 'sk-right-key' });
  try {
    const wrong = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'sk-wrong-key-1234', maxRetries: 0 });
    const error = await wrong.files.list().catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect((error as Error).message).not.toContain('sk-wrong-key-1234');
    const right = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'sk-right-key', maxRetries: 0 });
    await expect(right.files.list()).resolves.toBeDefined();
  } finally {
    await locked.close();
  }
});

test('every response carries an x-request-id header', async () => {
  for (const [url, init] of [
    [`${sandbox.url}/v1/batches`, { headers: { authorization: 'Bearer k' } }],
    [`${sandbox.url}/v1/batches`, {}],
    [`${sandbox.url}/v1/nope`, { headers: { authorization: 'Bearer k' } }],
    [`${sandbox.url}/_sandbox/stats`, {}],
  ] as const) {
    const res = await fetch(url, init);
    expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  }
  const { response } = await client.files.list().withResponse();
  expect(response.headers.get('x-request-id')).toMatch(/^req_/);
});

test('an unknown route is a 404 in the OpenAI error shape', async () => {
  const res = await fetch(`${sandbox.url}/v1/assistants`, { headers: { authorization: 'Bearer k' } });
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({
    error: { message: 'Invalid URL (GET /v1/assistants)', type: 'invalid_request_error', param: null, code: null },
  });
});

test('an uploaded file round-trips through retrieve, content, list and delete', async () => {
  const source = writeJsonl(dir, 'roundtrip.jsonl', [chatLine('a'), chatLine('b')]);
  const created = await client.files.create({ file: fs.createReadStream(source), purpose: 'batch' });
  expect(created).toMatchObject({ object: 'file', filename: 'roundtrip.jsonl', purpose: 'batch', status: 'processed', bytes: fs.statSync(source).size });
  expect(created.expires_at).toBe(created.created_at + 30 * 86_400);
  expect(await client.files.retrieve(created.id)).toEqual(created);

  const content = await client.files.content(created.id);
  expect(content.headers.get('content-length')).toBe(String(fs.statSync(source).size));
  expect(await content.text()).toBe(fs.readFileSync(source, 'utf8'));

  const listed = await client.files.list({ purpose: 'batch' });
  expect(listed.data.map((f) => f.id)).toContain(created.id);

  expect(await client.files.delete(created.id)).toEqual({ id: created.id, object: 'file', deleted: true });
  await expect(client.files.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
});

test('expires_after on upload sets the file expiry', async () => {
  const file = await client.files.create({
    file: await toFile(Buffer.from(JSON.stringify(chatLine('x')) + '\n'), 'expiring.jsonl'),
    purpose: 'batch',
    expires_after: { anchor: 'created_at', seconds: 7200 },
  });
  expect(file.expires_at).toBe(file.created_at + 7200);
});

test('a batch upload must be .jsonl', async () => {
  const error = await client.files.create({ file: await toFile(Buffer.from('{}\n'), 'input.csv'), purpose: 'batch' }).catch((e: unknown) => e);
  expect(error).toMatchObject({ status: 400, message: expect.stringContaining('Invalid file format for Batch API. Must be .jsonl') });
});

test('an upload larger than maxBytes is refused with "File is too large."', async () => {
  const big = path.join(dir, 'big.jsonl');
  const line = JSON.stringify(chatLine('x'.repeat(1000))) + '\n';
  fs.writeFileSync(big, line.repeat(Math.ceil((80 * 1024) / line.length)));
  const error = await client.files.create({ file: fs.createReadStream(big), purpose: 'batch' }).catch((e: unknown) => e);
  expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', message: expect.stringContaining('File is too large.') });
});

test('listing files honours purpose, order, limit and after', async () => {
  const ids = [await batchInput('l1.jsonl'), await batchInput('l2.jsonl'), await batchInput('l3.jsonl')];
  const desc = await client.files.list({ purpose: 'batch', limit: 2 });
  expect(desc.data.map((f) => f.id)).toEqual([ids[2], ids[1]]);
  expect(desc.has_more).toBe(true);
  const next = await client.files.list({ purpose: 'batch', limit: 1, after: ids[1] });
  expect(next.data.map((f) => f.id)).toEqual([ids[0]]);
  const asc = await client.files.list({ purpose: 'batch', order: 'asc' });
  const ascIds = asc.data.map((f) => f.id);
  expect(ascIds.indexOf(ids[0])).toBeLessThan(ascIds.indexOf(ids[2]));
  const raw = (await (await fetch(`${sandbox.url}/v1/files?limit=1`, { headers: { authorization: 'Bearer k' } })).json()) as Record<string, unknown>;
  expect(Object.keys(raw).sort()).toEqual(['data', 'first_id', 'has_more', 'last_id', 'object']);
});

test('creating a batch checks its parameters synchronously', async () => {
  const fileId = await batchInput();
  const create = (overrides: Record<string, unknown>) =>
    client.batches
      .create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', ...overrides } as OpenAI.Batches.BatchCreateParams)
      .catch((e: unknown) => e);

  expect(await create({ input_file_id: 'file-missing' })).toBeInstanceOf(OpenAI.NotFoundError);
  expect(await create({ endpoint: '/v1/unknown' })).toMatchObject({ status: 400, param: 'endpoint' });
  expect(await create({ completion_window: '48h' })).toMatchObject({ status: 400, param: 'completion_window' });
  const pairs = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
  expect(await create({ metadata: pairs })).toMatchObject({ status: 400 });
  expect(await create({ metadata: { ['k'.repeat(65)]: 'v' } })).toMatchObject({ status: 400 });
  expect(await create({ metadata: { k: 'v'.repeat(513) } })).toMatchObject({ status: 400 });

  const notBatch = await client.files.create({ file: await toFile(Buffer.from('x'), 'notes.txt'), purpose: 'user_data' });
  expect(await create({ input_file_id: notBatch.id })).toMatchObject({ status: 400, param: 'input_file_id' });
});

test('a created batch carries every Batch key, null when unset', async () => {
  const batch = await client.batches.create({
    input_file_id: await batchInput(),
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata: { job: 'nightly' },
  });
  expect(Object.keys(batch).sort()).toEqual(
    [
      'cancelled_at', 'cancelling_at', 'completed_at', 'completion_window', 'created_at', 'endpoint', 'error_file_id', 'errors',
      'expired_at', 'expires_at', 'failed_at', 'finalizing_at', 'id', 'in_progress_at', 'input_file_id', 'metadata', 'model',
      'object', 'output_file_id', 'request_counts', 'status', 'usage',
    ].sort(),
  );
  expect(batch).toMatchObject({ status: 'validating', model: null, usage: null, errors: null, metadata: { job: 'nightly' } });
  expect(batch.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });
});

test('SDK auto-pagination over batches visits each batch once, newest first', async () => {
  const lister = await startSandbox({ validationMs: 60_000 });
  try {
    const listClient = clientFor(lister);
    const fileId = await upload(listClient, writeJsonl(dir, 'paged.jsonl', [chatLine('p')]));
    const created: string[] = [];
    for (let i = 0; i < 25; i++) {
      created.push((await listClient.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
    }
    const seen: string[] = [];
    for await (const batch of listClient.batches.list({ limit: 10 })) seen.push(batch.id);
    expect(seen).toEqual([...created].reverse());

    const firstPage = await listClient.batches.list({ limit: 10 });
    expect(firstPage.has_more).toBe(true);
    const raw = (await (await fetch(`${lister.url}/v1/batches?limit=10&after=${created[5]}`, { headers: { authorization: 'Bearer k' } })).json()) as {
      data: Array<{ id: string }>;
      first_id: string;
      last_id: string;
      has_more: boolean;
    };
    expect(raw.data.map((b) => b.id)).toEqual(created.slice(0, 5).reverse());
    expect([raw.first_id, raw.last_id, raw.has_more]).toEqual([created[4], created[0], false]);
  } finally {
    await lister.close();
  }
});

test('list limit outside 1..100 is a 400', async () => {
  for (const limit of ['0', '101', 'x']) {
    const res = await fetch(`${sandbox.url}/v1/batches?limit=${limit}`, { headers: { authorization: 'Bearer k' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('limit');
  }
});

test('an unknown batch id is a 404', async () => {
  await expect(client.batches.retrieve('batch_nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
});
