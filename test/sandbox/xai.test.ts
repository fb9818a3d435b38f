/**
 * The xai module through the `openai` client, used the way the xAI adapter uses it (`files.create`, then the
 * generic `post`/`get` on xAI's own batch endpoints) at `<url>/xai/v1`: upload, create, get until done, list by
 * `pagination_token`, cancel, paged results, xAI's batch objects and error shape, one create per second, faults.
 * The sandbox's clock is the test's, so every state is reached without waiting.
 */
import fs from 'node:fs';
import OpenAI from 'openai';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { chatLine, range, tempDir, writeJsonl } from './helpers';

interface XaiBatch {
  batch_id: string;
  name: string;
  create_time: string;
  expire_time: string;
  cancel_time: string | null;
  cancel_by_xai_message: string | null;
  state: { num_requests: number; num_pending: number; num_success: number; num_error: number; num_cancelled: number };
}
interface XaiResult {
  batch_request_id: string;
  batch_result: { response?: { chat_get_completion: Record<string, unknown> }; error?: { code: number; message: string } };
  error_message: string | null;
}

let sandbox: Sandbox;
let client: OpenAI;
let dir: string;
let clock = Date.parse('2026-12-01T12:00:00Z');
const RATE = 100; // requests per second
const VALIDATION_MS = 500;
const CANCELLING_MS = 300;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: RATE, validationMs: VALIDATION_MS, cancellingMs: CANCELLING_MS, now: () => clock });
  client = new OpenAI({ baseURL: sandbox.baseUrls.xai, apiKey: 'xai-test-key', maxRetries: 0 });
  dir = tempDir();
});
afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => sandbox.setFaults({}));

async function uploadLines(lines: Array<Record<string, unknown>>): Promise<string> {
  const file = writeJsonl(dir, `xai-${Date.now()}-${Math.random()}.jsonl`, lines);
  const created = await client.files.create({ file: new File([await fs.openAsBlob(file)], 'input.jsonl', { type: 'application/jsonl' }), purpose: 'batch' });
  return created.id;
}

/** Creates a batch, one clock second after the previous create (xAI allows one per second). */
async function create(lines: Array<Record<string, unknown>>, name = `anybatch:test/${Math.random()}`): Promise<XaiBatch> {
  const fileId = await uploadLines(lines);
  clock += 1000;
  return client.post<XaiBatch>('/batches', { body: { name, input_file_id: fileId } });
}

const get = (id: string) => client.get<XaiBatch>(`/batches/${id}`);

async function results(id: string, limit: number): Promise<{ pages: number; results: XaiResult[] }> {
  const all: XaiResult[] = [];
  let token: string | null = null;
  let pages = 0;
  do {
    const query: Record<string, unknown> = { limit };
    if (token) query.pagination_token = token;
    const page: { results: XaiResult[]; pagination_token: string | null } = await client.get(`/batches/${id}/results`, { query });
    all.push(...page.results);
    pages++;
    token = page.pagination_token;
  } while (token);
  return { pages, results: all };
}

test('the base URL follows the one rule: <url>/xai/v1', () => {
  expect(sandbox.baseUrls.xai).toBe(`${sandbox.url}/xai/v1`);
});

test('upload, create, get until done: the batch object is exactly xAI’s, and counts move from num_pending to num_success / num_error', async () => {
  const created = await create([...range(8, 'ok-').map((id) => chatLine(id)), chatLine('bad', { sandbox_error: 422 })], 'anybatch:ab_1/0');
  expect(Object.keys(created).sort()).toEqual(['batch_id', 'cancel_by_xai_message', 'cancel_time', 'create_time', 'expire_time', 'name', 'state']);
  expect(created).toMatchObject({ name: 'anybatch:ab_1/0', cancel_time: null, cancel_by_xai_message: null, create_time: new Date(clock).toISOString() });
  expect(Date.parse(created.expire_time) - Date.parse(created.create_time)).toBe(24 * 3600 * 1000);
  // Before validation no request is known.
  expect(created.state).toEqual({ num_requests: 0, num_pending: 0, num_success: 0, num_error: 0, num_cancelled: 0 });

  clock += VALIDATION_MS + 50; // 5 of 9 have run
  expect((await get(created.batch_id)).state).toEqual({ num_requests: 9, num_pending: 4, num_success: 5, num_error: 0, num_cancelled: 0 });
  clock += 1000;
  const done = await get(created.batch_id);
  expect(done.state).toEqual({ num_requests: 9, num_pending: 0, num_success: 8, num_error: 1, num_cancelled: 0 });

  const { results: all } = await results(created.batch_id, 1000);
  expect(all.map((r) => r.batch_request_id)).toEqual([...range(8, 'ok-'), 'bad']);
  const ok = all[0];
  expect(ok.error_message).toBeNull();
  expect(ok.batch_result.response!.chat_get_completion).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: 'Sandbox reply to: Say hello to ok-0' } }] });
  const bad = all[8];
  expect(bad.batch_result.error).toEqual({ code: 3, message: expect.stringContaining('sandbox_error=422') });
  expect(bad.error_message).toBe(bad.batch_result.error!.message);
});

test('the upload takes a file without purpose too (section 8: purpose is optional)', async () => {
  const form = new FormData();
  form.append('file', new Blob([JSON.stringify(chatLine('np')) + '\n']), 'np.jsonl');
  const res = await fetch(`${sandbox.baseUrls.xai}/files`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: form });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { id: string }).id).toMatch(/^file-/);
});

test('results are paged by pagination_token, and only the requests that ran have one', async () => {
  const created = await create(range(25, 'p-').map((id) => chatLine(id)));
  clock += VALIDATION_MS + 200; // 20 ran
  const partial = await results(created.batch_id, 10);
  expect([partial.pages, partial.results.length]).toEqual([2, 20]);
  clock += 1000;
  const all = await results(created.batch_id, 10);
  expect(all.pages).toBe(3);
  expect(all.results.map((r) => r.batch_request_id)).toEqual(range(25, 'p-'));
  const bad = await fetch(`${sandbox.baseUrls.xai}/batches/${created.batch_id}/results?pagination_token=nonsense`, { headers: { authorization: 'Bearer k' } });
  expect(bad.status).toBe(400);
});

test('list: newest first, paged by pagination_token (not next_token), so a batch is found again by its name', async () => {
  const names = range(5, 'anybatch:list/');
  for (const name of names) await create([chatLine('l')], name);
  const seen: string[] = [];
  let token: string | null = null;
  let pages = 0;
  do {
    const query: Record<string, unknown> = { limit: 2 };
    if (token) query.pagination_token = token;
    const page: { batches: XaiBatch[]; pagination_token: string | null } = await client.get('/batches', { query });
    seen.push(...page.batches.map((b) => b.name));
    token = page.pagination_token;
    pages++;
  } while (token);
  expect(seen.slice(0, 5)).toEqual([...names].reverse());
  expect(new Set(seen).size).toBe(seen.length);
  expect(pages).toBe(Math.ceil(seen.length / 2));
});

test('cancel: cancel_time is set at once, and after the cancelling time the pending requests are num_cancelled', async () => {
  const created = await create(range(100, 'c-').map((id) => chatLine(id)));
  clock += VALIDATION_MS + 300; // 30 ran
  const cancelling = await client.post<XaiBatch>(`/batches/${created.batch_id}:cancel`, { body: {} });
  expect(cancelling.cancel_time).toBe(new Date(clock).toISOString());
  expect(cancelling.state).toMatchObject({ num_requests: 100, num_pending: 70, num_success: 30, num_cancelled: 0 });
  clock += CANCELLING_MS;
  const cancelled = await get(created.batch_id);
  expect(cancelled.state).toEqual({ num_requests: 100, num_pending: 0, num_success: 30, num_error: 0, num_cancelled: 70 });
  expect((await results(created.batch_id, 1000)).results).toHaveLength(30);
  // Cancelling again changes nothing; a finished batch cannot be cancelled (400 in xAI's shape).
  expect((await client.post<XaiBatch>(`/batches/${created.batch_id}:cancel`, { body: {} })).cancel_time).toBe(cancelled.cancel_time);
  const finished = await create([chatLine('f')]);
  clock += VALIDATION_MS + 100;
  const res = await fetch(`${sandbox.baseUrls.xai}/batches/${finished.batch_id}:cancel`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: '{}' });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ code: 'Client specified an invalid argument', error: expect.stringContaining('cannot be cancelled') });
});

test('one batch created per second: a second create within the second is a 429 with retry-after', async () => {
  const fileId = await uploadLines([chatLine('r')]);
  clock += 1000;
  await client.post('/batches', { body: { name: 'first', input_file_id: fileId } });
  const err = await client.post('/batches', { body: { name: 'second', input_file_id: fileId } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OpenAI.RateLimitError);
  expect((err as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('1');
  clock += 1000;
  await expect(client.post('/batches', { body: { name: 'second', input_file_id: fileId } })).resolves.toMatchObject({ name: 'second' });
});

test("errors are xAI's {code, error}: no key is 401, an unknown batch is 404", async () => {
  const noKey = await fetch(`${sandbox.baseUrls.xai}/batches`);
  expect(noKey.status).toBe(401);
  expect(await noKey.json()).toEqual({ code: expect.any(String), error: expect.stringContaining('API key') });
  const missing = await get('batch_nope').catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  expect((missing as InstanceType<typeof OpenAI.APIError>).error).toBe('Batch batch_nope not found.');
});

test('failValidation: every request of a new batch errors', async () => {
  sandbox.setFaults({ failValidation: true });
  const created = await create(range(4, 'v-').map((id) => chatLine(id)));
  clock += VALIDATION_MS + 100;
  expect((await get(created.batch_id)).state).toEqual({ num_requests: 4, num_pending: 0, num_success: 0, num_error: 4, num_cancelled: 0 });
  const { results: all } = await results(created.batch_id, 1000);
  expect(all.every((r) => r.batch_result.error?.code === 3 && r.error_message?.includes('failValidation'))).toBe(true);
});

test('expireAfterSeconds: expire_time passes with requests still pending, which never run', async () => {
  sandbox.setFaults({ expireAfterSeconds: 1 });
  const created = await create(range(200, 'e-').map((id) => chatLine(id)));
  expect(Date.parse(created.expire_time) - Date.parse(created.create_time)).toBe(1000);
  clock += 5000;
  const expired = await get(created.batch_id);
  // 500 ms of validation, then 500 ms at 100/s: 50 ran before the expiry.
  expect(expired.state).toEqual({ num_requests: 200, num_pending: 150, num_success: 50, num_error: 0, num_cancelled: 0 });
  expect(Date.parse(expired.expire_time)).toBeLessThan(clock);
  expect((await results(created.batch_id, 1000)).results).toHaveLength(50);
});

test('models: a request for a model outside the setting errors with not found (5)', async () => {
  sandbox.setFaults({ models: ['grok-4'] });
  const created = await create([chatLine('m1', { model: 'grok-4' }), chatLine('m2', { model: 'grok-9' })]);
  clock += VALIDATION_MS + 100;
  const { results: all } = await results(created.batch_id, 1000);
  expect(all.map((r) => [r.batch_request_id, r.batch_result.error?.code ?? 0])).toEqual([['m1', 0], ['m2', 5]]);
});

test('stats count the module’s files, batches and cancels, by derived status', () => {
  const stats = sandbox.stats().providers.xai;
  expect(stats.batchesCreated).toBeGreaterThan(5);
  expect(stats.batchCancels).toBe(1);
  expect(stats.batchesByStatus.cancelled).toBe(1);
});
