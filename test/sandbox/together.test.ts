/**
 * The together module through the official `together-ai` SDK, unchanged, at `baseURL: <url>/together/v1`: the
 * SDK's own `files.upload` helper (its redirect, PUT and read-back; the helper reads TOGETHER_API_BASE_URL when the
 * module loads, so the SDK is required after setting it), `batches.create` -> `{job, warning?}`, `retrieve` until
 * COMPLETED, `list` (a plain array), `files.content` of the output and error files, `cancel`; faults, validation
 * failures (failValidation, a custom_id over 64 characters), expiry, and Together's errors as the SDK's classes.
 *
 * The helper PUTs a Node read stream through the global `fetch` without `duplex: 'half'`, which Node's fetch
 * refuses ("duplex option is required", shown by the first test). The SDK is left as it is; the other tests run
 * it on a global `fetch` that adds `duplex: 'half'` to streamed bodies, as runtimes whose fetch takes Node
 * streams do. (anybatch's adapter does the upload flow itself, with its own streaming fetch.)
 */
import fs from 'node:fs';
import path from 'node:path';
import type TogetherClient from 'together-ai';
import type { BatchJob } from 'together-ai/resources/batches';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { tempDir } from './helpers';

type TogetherModule = typeof import('together-ai');

let sandbox: Sandbox;
let sdk: TogetherModule;
let client: TogetherClient;
let dir: string;
const savedBase = process.env.TOGETHER_API_BASE_URL;

const DISCOUNTED = 'meta-llama/Llama-3.3-70B-Instruct-Turbo';

const nodeFetch = globalThis.fetch;
/** Node's fetch, taking the helper's Node stream body the way runtimes that accept stream bodies do. */
const duplexFetch: typeof fetch = (input, init) => {
  const body = init?.body as unknown;
  const streamed = body !== null && typeof body === 'object' && typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
  return nodeFetch(input, streamed ? ({ ...init, duplex: 'half' } as RequestInit) : init);
};

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 200, validationMs: 30, finalizingMs: 20, cancellingMs: 30 });
  // The upload helper reads TOGETHER_API_BASE_URL once, when the SDK's module loads.
  process.env.TOGETHER_API_BASE_URL = sandbox.baseUrls.together;
  jest.isolateModules(() => {
    sdk = require('together-ai') as TogetherModule;
  });
  client = new sdk.Together({ baseURL: sandbox.baseUrls.together, apiKey: 'together-test-key', maxRetries: 0 });
  dir = tempDir();
  globalThis.fetch = duplexFetch;
});

afterAll(async () => {
  globalThis.fetch = nodeFetch;
  if (savedBase === undefined) delete process.env.TOGETHER_API_BASE_URL;
  else process.env.TOGETHER_API_BASE_URL = savedBase;
  await sandbox?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => sandbox.setFaults({}));

function line(id: string, extra: Record<string, unknown> = {}, model = DISCOUNTED): Record<string, unknown> {
  return { custom_id: id, body: { model, messages: [{ role: 'user', content: `Say hello to ${id}` }], max_tokens: 20, ...extra } };
}

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Writes the lines to a file in a folder of its own and uploads it with the SDK's helper (the full path as file_name). */
async function upload(lines: Array<Record<string, unknown> | string>, name = `in-${Date.now()}-${Math.random().toString(16).slice(2)}.jsonl`) {
  const sub = fs.mkdtempSync(path.join(dir, 'up-'));
  const file = path.join(sub, name);
  fs.writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  const uploaded = await client.files.upload(file, 'batch-api', false);
  return { file, uploaded };
}

async function createJob(lines: Array<Record<string, unknown> | string>, params: { model_id?: string } = {}) {
  const { uploaded } = await upload(lines);
  const created = await client.batches.create({ input_file_id: uploaded.id, endpoint: '/v1/chat/completions', completion_window: '24h', ...params });
  expect(created.job).toBeDefined();
  return { created, job: created.job!, fileId: uploaded.id };
}

async function until(id: string, statuses: string[], timeoutMs = 15_000): Promise<BatchJob> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await client.batches.retrieve(id);
    if (statuses.includes(job.status!)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.status}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

async function content(fileId: string | undefined): Promise<Array<Record<string, any>>> {
  if (!fileId) return [];
  const response = await client.files.content(fileId);
  const text = await response.text();
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
}

test("on Node's own fetch the SDK's upload helper fails at the PUT of the stream (duplex), after the redirect", async () => {
  globalThis.fetch = nodeFetch;
  try {
    const file = path.join(dir, 'plain-fetch.jsonl');
    fs.writeFileSync(file, JSON.stringify(line('n')) + '\n');
    await expect(client.files.upload(file, 'batch-api', false)).rejects.toThrow(/duplex/);
  } finally {
    globalThis.fetch = duplexFetch;
  }
});

test('upload (redirect, PUT, read back), create, retrieve until COMPLETED, list, then the output and error files', async () => {
  const before = sandbox.stats().providers.together;
  const { file, uploaded } = await upload([line('a'), line('b'), line('bad', { sandbox_error: 429 }), line('c')]);
  // Together shows the file's name, not the local path the SDK sent as file_name.
  expect(uploaded).toMatchObject({ object: 'file', filename: path.basename(file), bytes: fs.statSync(file).size, purpose: 'batch-api', FileType: 'jsonl', Processed: true });
  expect(uploaded.id).toMatch(/^file-/);
  expect(await client.files.retrieve(uploaded.id)).toEqual(uploaded);
  expect((await client.files.list()).data.map((f) => f.id)).toContain(uploaded.id);

  const created = await client.batches.create({ input_file_id: uploaded.id, endpoint: '/v1/chat/completions' });
  expect(created.warning).toBeUndefined();
  const job = created.job!;
  expect(job).toMatchObject({ status: 'VALIDATING', input_file_id: uploaded.id, endpoint: '/v1/chat/completions', model_id: DISCOUNTED, progress: 0, file_size_bytes: uploaded.bytes });
  expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
  expect(Date.parse(job.created_at!)).not.toBeNaN();
  expect(Date.parse(job.job_deadline!) - Date.parse(job.created_at!)).toBe(24 * 3600 * 1000);
  // No counts at Together: only progress.
  expect(Object.keys(job).filter((k) => /count|request/.test(k))).toEqual([]);

  const done = await until(job.id!, ['COMPLETED']);
  expect(done).toMatchObject({ progress: 100, output_file_id: expect.stringMatching(/^file-/), error_file_id: expect.stringMatching(/^file-/) });
  expect(Date.parse(done.completed_at!)).toBeGreaterThanOrEqual(Date.parse(done.created_at!));

  const listed = await client.batches.list();
  expect(Array.isArray(listed)).toBe(true);
  expect(listed.find((j) => j.id === job.id)).toEqual(done);

  const output = await content(done.output_file_id);
  expect(output.map((l) => l.custom_id).sort()).toEqual(['a', 'b', 'c']);
  for (const l of output) {
    expect(Object.keys(l).sort()).toEqual(['custom_id', 'error', 'response']);
    expect(l).toMatchObject({ response: { status_code: 200, body: { object: 'chat.completion', model: DISCOUNTED } }, error: null });
  }
  const errors = await content(done.error_file_id);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ custom_id: 'bad', response: { status_code: 429 }, error: { message: expect.stringContaining('sandbox_error=429') } });
  const info = await client.files.retrieve(done.output_file_id!);
  expect(info).toMatchObject({ purpose: 'batch-api', Processed: true, bytes: Buffer.byteLength(output.map((l) => JSON.stringify(l) + '\n').join('')) });

  const after = sandbox.stats().providers.together;
  expect(after.filesCreated - before.filesCreated).toBe(1);
  expect(after.batchesCreated - before.batchesCreated).toBe(1);
  expect(after.batchesByStatus.COMPLETED).toBeGreaterThanOrEqual(1);
});

test('POST /files answers 302 to a presigned URL under the prefix; a PUT without the signature is refused the S3 way', async () => {
  const params = new URLSearchParams({ file_name: '/tmp/some/dir/input.jsonl', file_type: 'jsonl', purpose: 'batch-api' });
  const res = await fetch(`${sandbox.baseUrls.together}/files?${params}`, {
    method: 'POST',
    headers: { authorization: 'Bearer k', 'content-type': 'application/x-www-form-urlencoded' },
    body: params.toString(),
    redirect: 'manual',
  });
  expect(res.status).toBe(302);
  const id = res.headers.get('x-together-file-id')!;
  const location = new URL(res.headers.get('location')!);
  expect(location.href.startsWith(`${sandbox.baseUrls.together}/_uploads/${id}?signature=`)).toBe(true);
  // Not visible until uploaded.
  await expect(client.files.retrieve(id)).rejects.toBeInstanceOf(sdk.NotFoundError);
  const unsigned = await fetch(`${location.origin}${location.pathname}`, { method: 'PUT', body: 'x' });
  expect(unsigned.status).toBe(403);
  expect(await unsigned.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  const put = await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: JSON.stringify(line('x')) + '\n' });
  expect(put.status).toBe(200);
  expect(await client.files.retrieve(id)).toMatchObject({ id, filename: 'input.jsonl', Processed: true });
  await client.files.delete(id);
  await expect(client.files.retrieve(id)).rejects.toBeInstanceOf(sdk.NotFoundError);
});

test('a model Together does not discount is created with a warning', async () => {
  const { created } = await createJob([line('w1', {}, 'Qwen/Qwen3-235B-A22B')]);
  expect(created.warning).toMatch(/not discounted/);
  expect(created.job).toMatchObject({ status: 'VALIDATING', model_id: 'Qwen/Qwen3-235B-A22B' });
});

test('cancel while running: progress between 0 and 100, then CANCELLED with the requests that ran; an ended job cannot be cancelled', async () => {
  const { job } = await createJob(ids(300, 'c').map((id) => line(id)));
  const running = await until(job.id!, ['IN_PROGRESS']);
  await new Promise((r) => setTimeout(r, 300));
  const mid = await client.batches.retrieve(job.id!);
  expect(mid.progress).toBeGreaterThan(0);
  expect(mid.progress).toBeLessThan(100);
  expect(running.output_file_id).toBeUndefined();
  const cancelling = await client.batches.cancel(job.id!);
  expect(['IN_PROGRESS', 'CANCELLED']).toContain(cancelling.status);
  const cancelled = await until(job.id!, ['CANCELLED']);
  const output = await content(cancelled.output_file_id);
  expect(output.length).toBeGreaterThan(0);
  expect(output.length).toBeLessThan(300);
  // Requests that never ran have no line: the error file lists failures only.
  expect(cancelled.error_file_id).toBeUndefined();
  expect(cancelled.progress).toBe(Math.floor((output.length * 100) / 300));
  const err = await client.batches.cancel(job.id!).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(sdk.BadRequestError);
  expect((err as InstanceType<TogetherModule['APIError']>).error).toMatchObject({ error: { message: expect.stringContaining('already CANCELLED'), type: 'invalid_request_error' } });
  expect(sandbox.stats().providers.together.batchCancels).toBeGreaterThanOrEqual(1);
});

test('failValidation fails the job at validation with an error; expireAfterSeconds expires it with partial results', async () => {
  sandbox.setFaults({ failValidation: true });
  const { job: failing } = await createJob([line('f1'), line('f2')]);
  const failed = await until(failing.id!, ['FAILED']);
  expect(failed.error).toMatch(/failValidation/);
  expect(failed.output_file_id).toBeUndefined();
  expect(failed.progress).toBe(0);

  sandbox.setFaults({ expireAfterSeconds: 0.6 });
  const { job: expiring } = await createJob(ids(400, 'e').map((id) => line(id)));
  const expired = await until(expiring.id!, ['EXPIRED']);
  const output = await content(expired.output_file_id);
  expect(output.length).toBeGreaterThan(0);
  expect(output.length).toBeLessThan(400);
  expect(expired.progress).toBe(Math.floor((output.length * 100) / 400));
});

test('a custom_id over 64 characters fails the job at validation, naming the line; bad lines fail it too', async () => {
  const long = 'x'.repeat(65);
  const { job } = await createJob([line('ok'), line(long)]);
  expect(job.status).toBe('VALIDATING');
  const failed = await until(job.id!, ['FAILED']);
  expect(failed.error).toBe('Line 2: custom_id is 65 characters, more than the maximum of 64.');
  expect(failed.output_file_id).toBeUndefined();
  // 64 is fine.
  const { job: fits } = await createJob([line('y'.repeat(64))]);
  expect((await until(fits.id!, ['COMPLETED'])).progress).toBe(100);
  // A line that is not JSON, and a duplicate custom_id, as the input check reports them.
  const { job: broken } = await createJob([line('d'), '{not json', line('d')]);
  const brokenFailed = await until(broken.id!, ['FAILED']);
  expect(brokenFailed.error).toMatch(/^Line 2: .*JSON.*; Line 3: .*duplicate/);
});

test("errors: a refused key is the SDK's AuthenticationError, an unknown batch NotFoundError, bad params BadRequestError", async () => {
  const refused = await startSandbox({ apiKey: 'right-key', validationMs: 10 });
  try {
    const wrong = new sdk.Together({ baseURL: refused.baseUrls.together, apiKey: 'wrong-key', maxRetries: 0 });
    const err = await wrong.batches.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(sdk.AuthenticationError);
    expect((err as InstanceType<TogetherModule['APIError']>).status).toBe(401);
    expect((err as InstanceType<TogetherModule['APIError']>).error).toEqual({ error: { message: expect.stringContaining('Invalid API key'), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    const right = new sdk.Together({ baseURL: refused.baseUrls.together, apiKey: 'right-key', maxRetries: 0 });
    await expect(right.batches.list()).resolves.toEqual([]);
  } finally {
    await refused.close();
  }
  const none = await client.batches.retrieve('00000000-0000-0000-0000-000000000000').catch((e: unknown) => e);
  expect(none).toBeInstanceOf(sdk.NotFoundError);
  expect((none as InstanceType<TogetherModule['APIError']>).error).toMatchObject({ error: { message: expect.stringContaining('not found') } });
  const { uploaded } = await upload([line('p')]);
  await expect(client.batches.create({ input_file_id: uploaded.id, endpoint: '/v1/audio/transcriptions' })).rejects.toBeInstanceOf(sdk.BadRequestError);
  await expect(client.batches.create({ input_file_id: uploaded.id, endpoint: '/v1/chat/completions', completion_window: '48h' })).rejects.toBeInstanceOf(sdk.BadRequestError);
  await expect(client.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/chat/completions' })).rejects.toBeInstanceOf(sdk.NotFoundError);
});

test('kernel faults reach the module in its shape: 429 with retry-after, 500', async () => {
  sandbox.setFaults({ forceStatus: 429, retryAfterSeconds: 3 });
  const limited = await client.batches.list().catch((e: unknown) => e);
  expect(limited).toBeInstanceOf(sdk.RateLimitError);
  expect((limited as InstanceType<TogetherModule['APIError']>).headers?.get('retry-after')).toBe('3');
  expect((limited as InstanceType<TogetherModule['APIError']>).error).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
  sandbox.setFaults({ rate500: 1 });
  await expect(client.batches.list()).rejects.toBeInstanceOf(sdk.InternalServerError);
});
