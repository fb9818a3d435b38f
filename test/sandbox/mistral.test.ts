/**
 * The mistral module through the official `@mistralai/mistralai` SDK (which validates every answer with its zod
 * schemas) at `serverURL: <url>/mistral`: upload, create, get until SUCCESS, list (pages, status and metadata
 * filters), cancel, output and error file downloads, expiry, validation failure, Mistral's error shape.
 */
import fs from 'node:fs';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { loadMistral, type MistralClient, type MistralModules } from '../../src/providers/mistral/sdk';
import { tempDir } from './helpers';

let sandbox: Sandbox;
let m: MistralModules;
let client: MistralClient;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 200, validationMs: 30, finalizingMs: 20, cancellingMs: 30 });
  m = await loadMistral();
  client = new m.sdk.Mistral({ apiKey: 'mistral-test', serverURL: sandbox.baseUrls.mistral });
  dir = tempDir();
});

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => sandbox.setFaults({}));

function line(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { custom_id: id, body: { messages: [{ role: 'user', content: `Say hello to ${id}` }], ...extra } };
}

async function uploadLines(lines: Array<Record<string, unknown>>): Promise<string> {
  const text = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
  const file = await client.files.upload({ file: { fileName: `in-${Date.now()}-${Math.random()}.jsonl`, content: Buffer.from(text) }, purpose: 'batch' });
  expect(file).toMatchObject({ object: 'file', purpose: 'batch', sampleType: 'batch_request', source: 'upload', sizeBytes: Buffer.byteLength(text) });
  return file.id;
}

async function until(id: string, statuses: string[]) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const job = await client.batch.jobs.get({ jobId: id });
    if (statuses.includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function download(fileId: string | null | undefined): Promise<Array<Record<string, any>>> {
  if (!fileId) return [];
  const stream = await client.files.download({ fileId });
  const text = await new Response(stream).text();
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
}

function setFaults(faults: Parameters<Sandbox['setFaults']>[0]): void {
  sandbox.setFaults(faults);
}

test('upload, create, get until SUCCESS, then the output and error files', async () => {
  const fileId = await uploadLines([line('a'), line('b'), line('bad', { sandbox_error: 422 })]);
  const created = await client.batch.jobs.create({ inputFiles: [fileId], endpoint: '/v1/chat/completions', model: 'mistral-small-latest', metadata: { team: 'x' }, timeoutHours: 24 });
  expect(created).toMatchObject({ object: 'batch', status: 'QUEUED', inputFiles: [fileId], model: 'mistral-small-latest', metadata: { team: 'x' }, errors: [] });
  const done = await until(created.id, ['SUCCESS']);
  expect(done).toMatchObject({ totalRequests: 3, succeededRequests: 2, failedRequests: 1, completedRequests: 3 });
  expect(Number.isInteger(done.completedAt)).toBe(true);

  const output = await download(done.outputFile);
  expect(output.map((l) => l.custom_id).sort()).toEqual(['a', 'b']);
  expect(output[0].response).toMatchObject({ status_code: 200, body: { object: 'chat.completion', model: 'mistral-small-latest' } });
  const errors = await download(done.errorFile);
  expect(errors.map((l) => [l.custom_id, l.response?.status_code])).toEqual([['bad', 422]]);

  const info = await client.files.retrieve({ fileId: done.outputFile! });
  expect(info).toMatchObject({ sampleType: 'batch_result', source: 'mistral', deleted: false });
  const listed = await client.files.list({ purpose: 'batch', search: info.filename });
  expect(listed.data.map((f) => f.id)).toEqual([info.id]);
});

test('list pages newest first with a total, and filters by status and metadata', async () => {
  const fileId = await uploadLines([line('l1')]);
  const key = `k-${Date.now()}`;
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await client.batch.jobs.create({ inputFiles: [fileId], endpoint: '/v1/chat/completions', model: 'm', metadata: { anybatch_key: `${key}-${i}` } })).id);
  }
  const page0 = await client.batch.jobs.list({ page: 0, pageSize: 2 });
  expect(page0.total).toBeGreaterThanOrEqual(3);
  expect(page0.data!.map((j) => j.id)).toEqual([ids[2], ids[1]]);
  const page1 = await client.batch.jobs.list({ page: 1, pageSize: 2 });
  expect(page1.data![0].id).toBe(ids[0]);
  const byKey = await client.batch.jobs.list({ metadata: { anybatch_key: `${key}-1` } });
  expect(byKey.data!.map((j) => j.id)).toEqual([ids[1]]);
  for (const id of ids) await until(id, ['SUCCESS']);
  const succeeded = await client.batch.jobs.list({ status: ['SUCCESS'], pageSize: 1000 });
  expect(succeeded.data!.every((j) => j.status === 'SUCCESS')).toBe(true);
  expect(succeeded.data!.map((j) => j.id)).toEqual(expect.arrayContaining(ids));
});

test('cancel: CANCELLATION_REQUESTED, then CANCELLED with the unrun requests in the error file', async () => {
  const fileId = await uploadLines(Array.from({ length: 40 }, (_, i) => line(`c${i}`)));
  const job = await client.batch.jobs.create({ inputFiles: [fileId], endpoint: '/v1/chat/completions', model: 'm' });
  const cancelling = await client.batch.jobs.cancel({ jobId: job.id });
  expect(['CANCELLATION_REQUESTED', 'CANCELLED']).toContain(cancelling.status);
  const cancelled = await until(job.id, ['CANCELLED']);
  const lines = [...(await download(cancelled.outputFile)), ...(await download(cancelled.errorFile))];
  expect(lines.map((l) => l.custom_id).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `c${i}`).sort());
  expect(cancelled.totalRequests).toBe(40);
  // A cancel of an ended job is refused in Mistral's error shape.
  const err = await client.batch.jobs.cancel({ jobId: job.id }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(m.errors.MistralError);
  expect((err as InstanceType<typeof m.errors.MistralError>).statusCode).toBe(400);
  expect(JSON.parse((err as InstanceType<typeof m.errors.MistralError>).body)).toMatchObject({ object: 'error', message: expect.any(String) });
});

test('faults: failValidation gives FAILED with errors, expireAfterSeconds gives TIMEOUT_EXCEEDED', async () => {
  const fileId = await uploadLines([line('f1'), line('f2')]);
  setFaults({ failValidation: true });
  const failed = await until((await client.batch.jobs.create({ inputFiles: [fileId], endpoint: '/v1/chat/completions', model: 'm' })).id, ['FAILED']);
  expect(failed.errors.length).toBeGreaterThan(0);
  setFaults({ expireAfterSeconds: 0.01 });
  const expired = await until((await client.batch.jobs.create({ inputFiles: [fileId], endpoint: '/v1/chat/completions', model: 'm' })).id, ['TIMEOUT_EXCEEDED']);
  expect(expired.totalRequests).toBe(2);
  const lines = await download(expired.errorFile);
  expect(lines.map((l) => l.custom_id).sort()).toEqual(['f1', 'f2']);
});

test('errors: a wrong key is 401, an unknown job 404, a bad endpoint 400, in Mistral\'s shape', async () => {
  type Err = InstanceType<typeof m.errors.MistralError>;
  const none = (await client.batch.jobs.get({ jobId: 'nope' }).catch((e: unknown) => e)) as Err;
  expect(none.statusCode).toBe(404);
  expect(JSON.parse(none.body)).toMatchObject({ object: 'error', type: 'invalid_request_error' });
  const res = await fetch(`${sandbox.baseUrls.mistral}/v1/batch/jobs`, { headers: {} });
  expect(res.status).toBe(401);
  const bad = (await client.batch.jobs.create({ inputFiles: [], endpoint: '/v1/nope' as '/v1/ocr', model: 'm' }).catch((e: unknown) => e)) as Err;
  expect(bad.statusCode).toBe(400);
});
