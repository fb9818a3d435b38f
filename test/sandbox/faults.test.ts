/** Injected faults: what a raw client sees, and that the SDK's retries carry the happy path through them. */
import fs from 'node:fs';
import OpenAI, { toFile } from 'openai';
import { startSandbox, type Sandbox, type SandboxStats } from '../../src/sandbox';
import { chatLine, clientFor, range, readLines, tempDir, waitFor } from './helpers';

let sandbox: Sandbox;
let dir: string;
const auth = { authorization: 'Bearer k' };

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 30, finalizingMs: 20 });
  dir = tempDir();
});

afterEach(() => sandbox.setFaults({}));

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function jsonl(ids: string[]): Buffer {
  return Buffer.from(ids.map((id) => JSON.stringify(chatLine(id))).join('\n') + '\n');
}

test('with rate429 = 1 every API request gets a 429 with retry-after', async () => {
  sandbox.setFaults({ rate429: 1, retryAfterSeconds: 7 });
  const before = sandbox.stats().faults.rate429;
  const res = await fetch(`${sandbox.url}/v1/batches`, { headers: auth });
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('7');
  expect(res.headers.get('x-should-retry')).toBeNull();
  expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  expect(((await res.json()) as { error: { type: string } }).error.type).toBe('rate_limit_exceeded');
  expect(sandbox.stats().faults.rate429).toBe(before + 1);
});

test('control routes are never faulted and need no key', async () => {
  sandbox.setFaults({ rate500: 1 });
  const stats = await fetch(`${sandbox.url}/_sandbox/stats`);
  expect(stats.status).toBe(200);
  expect((await stats.json()) as SandboxStats).toMatchObject({ requests: expect.any(Number), faults: expect.any(Object) });

  const set = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify({ rate429: 1, retryAfterSeconds: 2 }) });
  expect(set.status).toBe(200);
  const res = await fetch(`${sandbox.url}/v1/files`, { headers: auth });
  expect([res.status, res.headers.get('retry-after')]).toEqual([429, '2']);

  const bad = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify({ rate429: 3 }) });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
});

test('with rate500 = 0.3 the SDK retries its way through a whole batch', async () => {
  sandbox.setFaults({ rate500: 0.3, seed: 42 });
  const client = clientFor(sandbox, { maxRetries: 8 });
  const ids = range(10);
  // A Buffer upload is retryable; a stream body is not (the SDK cannot replay it).
  const file = await client.files.create({ file: await toFile(jsonl(ids), 'faulty.jsonl'), purpose: 'batch' });
  const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const done = await waitFor(client, batch.id, ['completed'], 30_000);
  const output = await readLines(client, done.output_file_id);
  expect(output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
  expect(sandbox.stats().faults.rate500).toBeGreaterThan(0);
});

test('a dropped connection gives the client a connection error', async () => {
  sandbox.setFaults({ rateDrop: 1 });
  const client = clientFor(sandbox, { maxRetries: 0 });
  await expect(client.batches.list()).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
  expect(sandbox.stats().faults.drops).toBeGreaterThan(0);
});

test('slowMs delays every API request', async () => {
  sandbox.setFaults({ slowMs: 150 });
  const started = Date.now();
  await clientFor(sandbox).files.list();
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
});

test('the same seed draws the same faults', async () => {
  const draw = async (): Promise<number[]> => {
    sandbox.setFaults({ rate500: 0.5, seed: 7 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await fetch(`${sandbox.url}/v1/files`, { headers: auth })).status);
    return statuses;
  };
  const first = await draw();
  expect(first).toContain(500);
  expect(first).toContain(200);
  expect(await draw()).toEqual(first);
});

test('a truncated download ends early with fewer bytes than content-length', async () => {
  const client = clientFor(sandbox, { maxRetries: 0 });
  const file = await client.files.create({ file: await toFile(jsonl(range(200)), 'trunc.jsonl'), purpose: 'batch' });
  sandbox.setFaults({ truncateDownloads: 1 });
  const res = await fetch(`${sandbox.url}/v1/files/${file.id}/content`, { headers: auth });
  expect(res.headers.get('content-length')).toBe(String(file.bytes));
  await expect(res.text()).rejects.toThrow();
  expect(sandbox.stats().faults.truncated).toBe(1);
});

test('a throttled download is in flight while it streams', async () => {
  const client = clientFor(sandbox, { maxRetries: 0 });
  const file = await client.files.create({ file: await toFile(Buffer.alloc(3000, 'x'), 'slow.jsonl'), purpose: 'batch' });
  sandbox.setFaults({ downloadBytesPerSecond: 10_000 });
  const started = Date.now();
  const res = await fetch(`${sandbox.url}/v1/files/${file.id}/content`, { headers: auth });
  expect(sandbox.stats().contentDownloadsInFlight).toBe(1);
  expect((await res.arrayBuffer()).byteLength).toBe(3000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(sandbox.stats().contentDownloadsInFlight).toBe(0);
});

test('createResponseDelayMs registers the batch before answering', async () => {
  const client = clientFor(sandbox, { maxRetries: 0 });
  const file = await client.files.create({ file: await toFile(jsonl(['d']), 'delayed.jsonl'), purpose: 'batch' });
  sandbox.setFaults({ createResponseDelayMs: 300 });
  const before = sandbox.stats().batchesCreated;
  const creating = client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(sandbox.stats().batchesCreated).toBe(before + 1);
  const batch = await creating;
  expect((await client.batches.list()).data[0].id).toBe(batch.id);
});
