/**
 * The bedrock module's job lifecycle on the sandbox clock, against an in-memory S3 (no server): Submitted,
 * Validating, Scheduled, InProgress with counts that move, then Completed (error records are lines, not a status);
 * validation failures (too few records, a bad line, no modelInput, an unreadable input, the failValidation and models
 * faults); a stop (Stopping, then Stopped with the answered records written); the timeout (Expired before the job
 * began, PartiallyCompleted after); outputs written once, shuffled, with the manifest; an output that cannot be
 * written failing the job.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobStorage } from '../../src/sandbox/providers/bedrock/s3';
import { BedrockJobStore, type JobFaults, type JobRecord } from '../../src/sandbox/providers/bedrock/store';
import { parseCreateRequest } from '../../src/sandbox/providers/bedrock/request';
import type { JobJson, ManifestJson } from '../../src/sandbox/providers/bedrock/wire';

/** S3 as a map of `bucket/key` to text; a missing object fails as the SDK's NoSuchKey does. */
class MemoryStorage extends JobStorage {
  readonly objects = new Map<string, string>();
  failPuts = false;

  constructor() {
    super({});
  }

  override async listJsonl(bucket: string, prefix: string): Promise<Array<{ key: string; size: number }>> {
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${bucket}/${prefix}`) && k.endsWith('.jsonl'))
      .map(([k, text]) => ({ key: k.slice(bucket.length + 1), size: Buffer.byteLength(text) }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  override async openLines(bucket: string, key: string): Promise<{ size: number; lines: AsyncIterable<string>; close(): void }> {
    const text = this.objects.get(`${bucket}/${key}`);
    if (text === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return {
      size: Buffer.byteLength(text),
      lines: (async function* () {
        yield* text.split('\n');
      })(),
      close: () => undefined,
    };
  }

  override async putFile(bucket: string, key: string, file: string): Promise<void> {
    if (this.failPuts) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    this.objects.set(`${bucket}/${key}`, fs.readFileSync(file, 'utf8'));
  }

  override async putJson(bucket: string, key: string, value: unknown): Promise<void> {
    if (this.failPuts) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    this.objects.set(`${bucket}/${key}`, JSON.stringify(value));
  }

  lines(key: string): Array<Record<string, unknown>> {
    return (this.objects.get(key) ?? '')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

const CLAUDE = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const VALIDATION_MS = 300;
const CANCELLING_MS = 300;
const RATE = 100;
const NO_FAULTS: JobFaults = { failValidation: false, models: undefined, expireAfterSeconds: undefined, requestFault: null };

let clock = Date.parse('2026-12-01T12:00:00Z');
let storage: MemoryStorage;
let store: BedrockJobStore;
let dir: string;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-bedrock-lifecycle-'));
  storage = new MemoryStorage();
  store = new BedrockJobStore(() => clock, { validationMs: VALIDATION_MS, cancellingMs: CANCELLING_MS, rate: RATE }, { minRecords: 100, maxRecords: 1000, maxBytes: 10_000_000 }, storage, {
    jobs: path.join(dir, 'jobs'),
    tmp: dir,
  });
  await store.init();
});
afterEach(async () => {
  await store.drain();
  fs.rmSync(dir, { recursive: true, force: true });
});

function record(i: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ recordId: `R${String(i).padStart(10, '0')}`, modelInput: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [{ role: 'user', content: `Say hello to ${i}` }], ...extra } });
}

function put(key: string, lines: string[]): string {
  storage.objects.set(`bucket/${key}`, lines.join('\n') + '\n');
  return `s3://bucket/${key}`;
}

function create(inputUri: string, faults: Partial<JobFaults> = {}, change: Record<string, unknown> = {}): JobRecord {
  const spec = parseCreateRequest({
    jobName: `job-${Math.random().toString(36).slice(2, 8)}`,
    roleArn: 'arn:aws:iam::123456789012:role/Batch',
    modelId: CLAUDE,
    inputDataConfig: { s3InputDataConfig: { s3Uri: inputUri } },
    outputDataConfig: { s3OutputDataConfig: { s3Uri: 's3://bucket/out/' } },
    ...change,
  });
  return store.create(spec, 'us-east-1', { ...NO_FAULTS, ...faults });
}

async function at(job: JobRecord, ms: number): Promise<JobJson> {
  clock = job.createdMs + ms;
  return store.toJson(job, await store.settle(job));
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('Submitted, Validating, Scheduled, InProgress with moving counts, then Completed; error records are lines, not a status', async () => {
  const job = create(put('in/data.jsonl', range(150).map((i) => record(i, i % 50 === 7 ? { sandbox_error: 422 } : {}))));
  expect(job.arn).toMatch(/^arn:aws:bedrock:us-east-1:123456789012:model-invocation-job\/[a-z0-9]{12}$/);
  expect(await at(job, 0)).toMatchObject({ status: 'Submitted', totalRecordCount: 0, processedRecordCount: 0 });
  expect(await at(job, 150)).toMatchObject({ status: 'Validating', totalRecordCount: 0 });
  const scheduled = await at(job, 250);
  expect(scheduled).toMatchObject({ status: 'Scheduled', totalRecordCount: 150, processedRecordCount: 0, lastModifiedTime: new Date(job.createdMs + 200).toISOString() });
  expect(scheduled.endTime).toBeUndefined();
  // 100 records a second: 80 done 0.8 s into the run, 2 of them errors (records 7 and 57).
  expect(await at(job, VALIDATION_MS + 800)).toMatchObject({ status: 'InProgress', processedRecordCount: 80, successRecordCount: 78, errorRecordCount: 2 });
  expect(storage.objects.size).toBe(1); // nothing written while it runs
  const done = await at(job, VALIDATION_MS + 1500);
  expect(done).toMatchObject({ status: 'Completed', totalRecordCount: 150, processedRecordCount: 150, successRecordCount: 147, errorRecordCount: 3 });
  expect(done.endTime).toBe(new Date(job.createdMs + VALIDATION_MS + 1500).toISOString());
  expect(done.message).toBeUndefined();

  const out = storage.lines(`bucket/out/${job.id}/data.jsonl.out`);
  expect(out).toHaveLength(150);
  expect(out.map((l) => l.recordId)).not.toEqual(range(150).map((i) => `R${String(i).padStart(10, '0')}`)); // shuffled
  expect(new Set(out.map((l) => l.recordId)).size).toBe(150);
  expect(out.filter((l) => 'error' in l).map((l) => l.error)).toEqual(range(3).map(() => ({ errorCode: 422, errorMessage: expect.stringContaining('sandbox_error=422') })));
  const manifest = JSON.parse(storage.objects.get(`bucket/out/${job.id}/manifest.json.out`)!) as ManifestJson;
  expect(manifest).toMatchObject({ totalRecordCount: 150, processedRecordCount: 150, successRecordCount: 147, errorRecordCount: 3 });
  expect(manifest.inputTokenCount).toBeGreaterThan(0);
  expect(manifest.outputTokenCount).toBeGreaterThan(0);
  // Latched: a later read agrees, and writes nothing again.
  storage.objects.delete(`bucket/out/${job.id}/manifest.json.out`);
  expect(await at(job, VALIDATION_MS + 9000)).toEqual(done);
  expect(storage.objects.has(`bucket/out/${job.id}/manifest.json.out`)).toBe(false);
});

test('a prefix input runs every .jsonl under it, one output per file named by its path below the prefix', async () => {
  put('many/a.jsonl', range(60).map((i) => record(i)));
  put('many/sub/b.jsonl', range(60).map((i) => record(100 + i)));
  put('many/notes.txt', ['ignored']);
  const job = create('s3://bucket/many');
  expect(await at(job, VALIDATION_MS + 2000)).toMatchObject({ status: 'Completed', totalRecordCount: 120 });
  expect(storage.lines(`bucket/out/${job.id}/a.jsonl.out`)).toHaveLength(60);
  expect(storage.lines(`bucket/out/${job.id}/sub/b.jsonl.out`)).toHaveLength(60);
});

test.each([
  ['fewer records than the minimum', () => put('few.jsonl', range(99).map((i) => record(i))), {}, /has 99 records, fewer than the minimum number of records per batch inference job \(100\)/],
  ['a line that is not JSON', () => put('bad.jsonl', [...range(120).map((i) => record(i)), '{oops']), {}, /Line 121 of s3:\/\/bucket\/bad\.jsonl is not valid JSON/],
  ['a record without modelInput', () => put('nomi.jsonl', [...range(120).map((i) => record(i)), '{"recordId":"X"}']), {}, /no modelInput object/],
  ['an input that does not exist', () => 's3://bucket/missing/input.jsonl', {}, /Unable to read the input data at s3:\/\/bucket\/missing\/input\.jsonl: NoSuchKey/],
  ['a prefix without .jsonl files', () => 's3://bucket/empty/', {}, /No \.jsonl input files were found at s3:\/\/bucket\/empty\//],
  ['the failValidation fault', () => put('ok.jsonl', range(100).map((i) => record(i))), { failValidation: true }, /failValidation fault/],
  ['a model the models fault does not list', () => put('ok2.jsonl', range(100).map((i) => record(i))), { models: ['amazon.nova-lite-v1:0'] }, /The provided model identifier is invalid: anthropic\./],
])('%s fails the job at the end of validation, with a message saying why', async (_name, input, faults, message) => {
  const job = create(input(), faults);
  expect(await at(job, 150)).toMatchObject({ status: 'Validating' });
  const failed = await at(job, 200);
  expect(failed).toMatchObject({ status: 'Failed', totalRecordCount: 0, processedRecordCount: 0, endTime: new Date(job.createdMs + 200).toISOString() });
  expect(failed.message).toMatch(message);
  expect([...storage.objects.keys()].filter((k) => k.startsWith('bucket/out/'))).toEqual([]);
});

test('a stop: Stopping for the cancelling time, then Stopped, with the records answered before the stop written', async () => {
  const job = create(put('stop.jsonl', range(200).map((i) => record(i))));
  await at(job, VALIDATION_MS + 500); // 50 answered
  await store.stop(job);
  await store.stop(job); // a second stop changes nothing and is not counted
  expect(store.counters.batchCancels).toBe(1);
  expect(await at(job, VALIDATION_MS + 600)).toMatchObject({ status: 'Stopping', processedRecordCount: 50 });
  const stopped = await at(job, VALIDATION_MS + 500 + CANCELLING_MS);
  expect(stopped).toMatchObject({ status: 'Stopped', totalRecordCount: 200, processedRecordCount: 50, successRecordCount: 50, errorRecordCount: 0 });
  expect(storage.lines(`bucket/out/${job.id}/stop.jsonl.out`)).toHaveLength(50);
  expect(JSON.parse(storage.objects.get(`bucket/out/${job.id}/manifest.json.out`)!)).toMatchObject({ totalRecordCount: 200, processedRecordCount: 50 });
  await expect(store.stop(job)).rejects.toMatchObject({ type: 'ValidationException', message: expect.stringContaining('cannot be stopped because its status is Stopped') });
});

test('a job stopped while validating ends Stopped with nothing written', async () => {
  const job = create(put('early.jsonl', range(100).map((i) => record(i))));
  await at(job, 50);
  await store.stop(job);
  expect(await at(job, 50 + CANCELLING_MS)).toMatchObject({ status: 'Stopped', totalRecordCount: 0, processedRecordCount: 0 });
  expect([...storage.objects.keys()].filter((k) => k.startsWith('bucket/out/'))).toEqual([]);
});

test('the timeout: Expired before the job began, PartiallyCompleted once it had, its answered records written', async () => {
  const early = create(put('slow.jsonl', range(100).map((i) => record(i))), { expireAfterSeconds: 0.1 });
  expect(await at(early, 99)).toMatchObject({ status: 'Submitted' });
  expect(await at(early, 100)).toMatchObject({ status: 'Expired', processedRecordCount: 0, jobExpirationTime: new Date(early.createdMs + 100).toISOString() });

  const late = create(put('slow2.jsonl', range(300).map((i) => record(i))), { expireAfterSeconds: 1 });
  const partial = await at(late, 5000);
  expect(partial).toMatchObject({ status: 'PartiallyCompleted', totalRecordCount: 300, processedRecordCount: 70, endTime: new Date(late.createdMs + 1000).toISOString() });
  expect(storage.lines(`bucket/out/${late.id}/slow2.jsonl.out`)).toHaveLength(70);
});

test('timeoutDurationInHours sets the expiration time when no fault does', async () => {
  const job = create(put('t.jsonl', range(100).map((i) => record(i))), {}, { timeoutDurationInHours: 24 });
  expect((await at(job, 0)).jobExpirationTime).toBe(new Date(job.createdMs + 24 * 3600 * 1000).toISOString());
});

test('an output that cannot be written fails the job, naming the output URI', async () => {
  const job = create(put('w.jsonl', range(100).map((i) => record(i))));
  storage.failPuts = true;
  const failed = await at(job, VALIDATION_MS + 1000);
  expect(failed.status).toBe('Failed');
  expect(failed.message).toMatch(/^Unable to write the output to s3:\/\/bucket\/out\/: AccessDenied/);
});

test('the request fault makes 500 error records, drawn per record and counted while the job runs', async () => {
  const job = create(put('rf.jsonl', range(200).map((i) => record(i))), { requestFault: { rate: 0.5, seed: 42 } });
  const done = await at(job, VALIDATION_MS + 2000);
  expect(done.status).toBe('Completed');
  expect(done.errorRecordCount).toBeGreaterThan(50);
  expect(done.errorRecordCount).toBeLessThan(150);
  const errors = storage.lines(`bucket/out/${job.id}/rf.jsonl.out`).filter((l) => 'error' in l);
  expect(errors).toHaveLength(done.errorRecordCount);
  expect(errors.every((l) => (l.error as { errorCode: number }).errorCode === 500)).toBe(true);
});

test('stats count jobs by Bedrock status', async () => {
  const a = create(put('s1.jsonl', range(100).map((i) => record(i))));
  create(put('s2.jsonl', range(10).map((i) => record(i))));
  await at(a, VALIDATION_MS + 5000);
  expect(store.countByStatus()).toEqual({ Completed: 1, Failed: 1 });
  expect(store.counters).toEqual({ filesCreated: 0, batchesCreated: 2, batchCancels: 0 });
});
