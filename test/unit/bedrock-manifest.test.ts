/**
 * A Bedrock job's `manifest.json.out` (src/providers/bedrock/manifest.ts): read as the documented counts and tokens,
 * a missing, unreadable or malformed one leaving the batch as the job alone says, the job's counts first and the
 * manifest's where the job has none, its tokens as the batch's usage, and the output lines standing where the
 * manifest disagrees with them. The sandbox writes the manifest the adapter reads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import { toOpenAIBatch, type BedrockJob } from '../../src/providers/bedrock/batch-object';
import { MANIFEST_FIELDS, MAX_MANIFEST_BYTES, manifestDisagreement, manifestKey, parseManifest, readManifest, type GetObject } from '../../src/providers/bedrock/manifest';
import { writeOutputs } from '../../src/sandbox/providers/bedrock/outputs';
import { JobStorage } from '../../src/sandbox/providers/bedrock/s3';

const NOVA = 'amazon.nova-lite-v1:0';
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123';
const DOCUMENTED = { totalRecordCount: 150, processedRecordCount: 150, successRecordCount: 148, errorRecordCount: 2, inputTokenCount: 3120, outputTokenCount: 1875 };

/** An object store of one or no object, answering as the S3 SDK does. */
function objectStore(body: string | null, more: { ContentLength?: number } = {}): { get: GetObject; asked: string[] } {
  const asked: string[] = [];
  const get: GetObject = async (bucket, key) => {
    asked.push(`${bucket}/${key}`);
    if (body === null) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
    return { Body: Readable.from([Buffer.from(body)]), ContentLength: more.ContentLength ?? Buffer.byteLength(body) };
  };
  return { get, asked };
}

describe('parsing', () => {
  test('the documented manifest reads as its six counts; fields Bedrock may add later are ignored', () => {
    expect(parseManifest(JSON.stringify(DOCUMENTED))).toEqual({ manifest: DOCUMENTED });
    expect(parseManifest(JSON.stringify({ ...DOCUMENTED, cacheReadInputTokenCount: 7 }))).toEqual({ manifest: DOCUMENTED });
    // A count it leaves out (or sends as null) is unknown, not 0.
    expect(parseManifest(JSON.stringify({ totalRecordCount: 5, errorRecordCount: null }))).toEqual({ manifest: { totalRecordCount: 5 } });
  });

  test('what is not a manifest is named: not JSON, not an object, a count that is not one, none of the fields', () => {
    expect(parseManifest('{"totalRecordCount": 1')).toEqual({ problem: expect.stringMatching(/^not JSON/) });
    expect(parseManifest('[1,2]')).toEqual({ problem: 'not a JSON object (got an array)' });
    expect(parseManifest('"done"')).toEqual({ problem: 'not a JSON object (got "done")' });
    expect(parseManifest(JSON.stringify({ ...DOCUMENTED, errorRecordCount: -1 }))).toEqual({ problem: 'errorRecordCount is not a count (got -1)' });
    expect(parseManifest(JSON.stringify({ ...DOCUMENTED, inputTokenCount: '3120' }))).toEqual({ problem: 'inputTokenCount is not a count (got "3120")' });
    expect(parseManifest(JSON.stringify({ ...DOCUMENTED, successRecordCount: 1.5 }))).toEqual({ problem: 'successRecordCount is not a count (got 1.5)' });
    expect(parseManifest(JSON.stringify({ total: 150 }))).toEqual({ problem: expect.stringContaining('it holds none of totalRecordCount') });
  });
});

describe('reading', () => {
  test('it is read from {outputS3Uri}/{jobId}/manifest.json.out', async () => {
    const store = objectStore(JSON.stringify(DOCUMENTED));
    const key = manifestKey({ bucket: 'bucket', prefix: 'root/b1/0/n/output/' }, 'abc123');
    expect(key).toBe('root/b1/0/n/output/abc123/manifest.json.out');
    expect(await readManifest(store.get, 'bucket', key)).toEqual({ kind: 'read', manifest: DOCUMENTED });
    expect(store.asked).toEqual(['bucket/root/b1/0/n/output/abc123/manifest.json.out']);
  });

  test('a missing manifest is missing, not a failure', async () => {
    expect(await readManifest(objectStore(null).get, 'bucket', 'k')).toEqual({ kind: 'missing' });
  });

  test('one that is not a manifest is malformed, with the reason; one too big for a manifest is not read whole', async () => {
    expect(await readManifest(objectStore('<Error>SlowDown</Error>').get, 'bucket', 'k')).toEqual({ kind: 'malformed', problem: expect.stringMatching(/^not JSON/) });
    expect(await readManifest(objectStore('{}', { ContentLength: MAX_MANIFEST_BYTES + 1 }).get, 'bucket', 'k')).toEqual({ kind: 'malformed', problem: `${MAX_MANIFEST_BYTES + 1} bytes, more than a manifest's ${MAX_MANIFEST_BYTES}` });
    // No length given: counted as it streams, and the stream is left there.
    const chunks = Array.from({ length: 100 }, () => Buffer.alloc(1024, 0x20));
    let pulled = 0;
    const endless: GetObject = async () => ({ Body: Readable.from((function* () { for (const c of chunks) { pulled++; yield c; } })()) });
    expect(await readManifest(endless, 'bucket', 'k')).toEqual({ kind: 'malformed', problem: `more than a manifest's ${MAX_MANIFEST_BYTES} bytes` });
    expect(pulled).toBeLessThan(chunks.length);
  });

  test('a download that fails (access denied, a body cut off) is unreadable, with the failure, never a throw', async () => {
    const denied: GetObject = async () => {
      throw new S3ServiceException({ name: 'AccessDenied', message: 'Access Denied', $fault: 'client', $metadata: { httpStatusCode: 403 } });
    };
    expect(await readManifest(denied, 'bucket', 'out/abc123/manifest.json.out')).toEqual({
      kind: 'unreadable',
      problem: 'Bedrock download manifest failed (s3://bucket/out/abc123/manifest.json.out): AccessDenied: Access Denied',
    });
    const cut: GetObject = async () => ({
      Body: Readable.from((async function* () { yield Buffer.from('{"totalRecordCount":'); throw new Error('socket hang up'); })()),
    });
    expect(await readManifest(cut, 'bucket', 'k')).toEqual({ kind: 'unreadable', problem: 'Bedrock download manifest failed (s3://bucket/k): socket hang up' });
    expect(await readManifest(async () => ({}), 'bucket', 'k')).toEqual({ kind: 'unreadable', problem: expect.stringContaining('without a body') });
  });
});

describe('the batch', () => {
  const job: BedrockJob = { jobArn: ARN, modelId: NOVA, roleArn: 'r', status: 'Completed', submitTime: new Date(1_000_000), endTime: new Date(2_000_000), inputDataConfig: undefined, outputDataConfig: undefined };

  test("the job's counts come first; the manifest fills only those the job lacks", () => {
    const counted = { ...job, totalRecordCount: 150, successRecordCount: 147, errorRecordCount: 3 };
    expect(toOpenAIBatch(counted, DOCUMENTED).request_counts).toEqual({ total: 150, completed: 147, failed: 3 });
    expect(toOpenAIBatch(job, DOCUMENTED).request_counts).toEqual({ total: 150, completed: 148, failed: 2 });
    expect(toOpenAIBatch({ ...job, totalRecordCount: 150 }, { successRecordCount: 148 }).request_counts).toEqual({ total: 150, completed: 148, failed: 0 });
  });

  test("the manifest's tokens are the batch's usage; without both counts, or without a manifest, there is none", () => {
    expect(toOpenAIBatch(job, DOCUMENTED).usage).toEqual({ input_tokens: 3120, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1875, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 4995 });
    expect(toOpenAIBatch(job, { inputTokenCount: 3120 }).usage).toBeUndefined();
    expect(toOpenAIBatch(job)).not.toHaveProperty('usage');
    // Without a manifest the batch is what it was before anybatch read one.
    expect(toOpenAIBatch(job).request_counts).toEqual({ total: 0, completed: 0, failed: 0 });
  });

  test('counts that disagree with the output lines are named, both sides; the lines stand', () => {
    expect(manifestDisagreement(DOCUMENTED, { succeeded: 148, failed: 2, requests: 150 }, ARN)).toBeNull();
    // What it does not count is not compared.
    expect(manifestDisagreement({ inputTokenCount: 5 }, { succeeded: 1, failed: 0, requests: 150 }, ARN)).toBeNull();
    const warning = manifestDisagreement(DOCUMENTED, { succeeded: 140, failed: 2, requests: 150 }, ARN);
    expect(warning).toBe(
      `Bedrock job ${ARN}: manifest.json.out disagrees with the output files (successRecordCount 148, output lines with a model output 140). The results follow the output lines, one per request; a request without a line is reported as an error.`,
    );
    expect(manifestDisagreement(DOCUMENTED, { succeeded: 148, failed: 1, requests: 151 }, ARN)).toContain('(errorRecordCount 2, error lines 1; totalRecordCount 150, records sent 151)');
  });
});

/** The sandbox's S3 as a map, for its output writer. */
class MemoryStorage extends JobStorage {
  readonly objects = new Map<string, string>();
  constructor() {
    super({});
  }
  override async putFile(bucket: string, key: string, file: string): Promise<void> {
    this.objects.set(`${bucket}/${key}`, fs.readFileSync(file, 'utf8'));
  }
  override async putJson(bucket: string, key: string, value: unknown): Promise<void> {
    this.objects.set(`${bucket}/${key}`, JSON.stringify(value));
  }
}

test("the sandbox writes the documented manifest, which the adapter reads whole and which agrees with the sandbox's lines", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bedrock-manifest-'));
  try {
    const input = path.join(dir, 'records.jsonl');
    const records = Array.from({ length: 12 }, (_, i) => ({ recordId: `R${String(i).padStart(10, '0')}`, modelInput: { messages: [{ role: 'user', content: [{ text: `q${i}` }] }], ...(i % 5 === 0 ? { sandbox_error: 400 } : {}) } }));
    fs.writeFileSync(input, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const storage = new MemoryStorage();
    await writeOutputs(storage, {
      jobId: 'abc123',
      outputUri: 's3://bucket/out/',
      files: [{ uri: 's3://bucket/in/records.jsonl', name: 'records.jsonl', localPath: input, records: 12 }],
      processed: 12,
      total: 12,
      record: { modelId: NOVA, invocationType: 'Converse' },
      requestFault: null,
      tmpDir: dir,
    });
    const text = storage.objects.get(`bucket/${manifestKey({ bucket: 'bucket', prefix: 'out/' }, 'abc123')}`)!;
    expect(Object.keys(JSON.parse(text) as object).sort()).toEqual([...MANIFEST_FIELDS].sort());
    const parsed = parseManifest(text);
    if (!('manifest' in parsed)) throw new Error(parsed.problem);
    expect(parsed.manifest).toMatchObject({ totalRecordCount: 12, processedRecordCount: 12, successRecordCount: 9, errorRecordCount: 3 });
    expect(parsed.manifest.inputTokenCount).toBeGreaterThan(0);
    expect(parsed.manifest.outputTokenCount).toBeGreaterThan(0);
    const lines = storage.objects.get('bucket/out/abc123/records.jsonl.out')!.trim().split('\n').map((l) => JSON.parse(l) as { modelOutput?: unknown; error?: unknown });
    const counted = { succeeded: lines.filter((l) => l.modelOutput).length, failed: lines.filter((l) => l.error).length, requests: 12 };
    expect(manifestDisagreement(parsed.manifest, counted, ARN)).toBeNull();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
