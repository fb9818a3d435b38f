/**
 * The gemini module through the official `@google/genai` SDK at its base URL (`<url>/gemini`, what the orchestrator
 * uses): inline create, resumable upload and file create, get until succeeded (with `batchStats` read raw, since
 * the SDK drops them), list, cancel, delete, download of the results file, errors in Google's shape.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiError, GoogleGenAI, type BatchJob } from '@google/genai';
import { startSandbox, type Sandbox } from '../../src/sandbox';

let sandbox: Sandbox;
let ai: GoogleGenAI;
let dir: string;

/**
 * Under jest's vm the SDK's default Undici dispatcher is not found (it lives on the outer realm's global), so the
 * clients get Node's fetch as their `httpOptions.fetch`; everything else is the SDK as shipped.
 */
const nodeFetch = (input: Parameters<typeof fetch>[0], init?: RequestInit) => fetch(input, init);

const request = (text: string) => ({ contents: [{ role: 'user', parts: [{ text }] }], config: { systemInstruction: 'Be brief', maxOutputTokens: 100 } });

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 200, validationMs: 30, cancellingMs: 30 });
  ai = new GoogleGenAI({ apiKey: 'gemini-test-key', httpOptions: { baseUrl: sandbox.baseUrls.gemini, fetch: nodeFetch } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemini-sdk-'));
});

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until(name: string, states: string[]): Promise<BatchJob> {
  for (let i = 0; i < 200; i++) {
    const job = await ai.batches.get({ name });
    if (states.includes(job.state ?? '')) return job;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`batch ${name} never reached ${states.join('/')}`);
}

async function raw(name: string): Promise<Record<string, any>> {
  const res = await fetch(`${sandbox.baseUrls.gemini}/v1beta/${name}`, { headers: { 'x-goog-api-key': 'k' } });
  return (await res.json()) as Record<string, any>;
}

test('the base URL is <url>/gemini', () => {
  expect(sandbox.baseUrls.gemini).toBe(`${sandbox.url}/gemini`);
});

test('inline batch: create, get until succeeded, inlined responses in input order with their metadata', async () => {
  const job = await ai.batches.create({
    model: 'gemini-2.5-flash',
    src: [
      { ...request('one'), metadata: { key: 'a' } },
      { ...request('two'), metadata: { key: 'b' } },
    ],
    config: { displayName: 'anybatch:test/0' },
  });
  expect(job.name).toMatch(/^batches\/[a-z0-9]+$/);
  expect(job.displayName).toBe('anybatch:test/0');
  expect(['JOB_STATE_PENDING', 'JOB_STATE_RUNNING']).toContain(job.state);
  const done = await until(job.name!, ['JOB_STATE_SUCCEEDED']);
  expect(done.model).toBe('models/gemini-2.5-flash');
  const responses = done.dest?.inlinedResponses ?? [];
  expect(responses.map((r) => r.metadata)).toEqual([{ key: 'a' }, { key: 'b' }]);
  expect(responses[0].response?.candidates?.[0]).toMatchObject({ content: { role: 'model', parts: [{ text: 'Sandbox reply to: one [system: Be brief]' }] }, finishReason: 'STOP' });
  expect(responses[0].response?.usageMetadata?.promptTokenCount).toBeGreaterThan(0);
  // The SDK drops batchStats; the REST answer has them as int64 strings.
  const op = await raw(job.name!);
  expect(op.metadata).toMatchObject({ state: 'BATCH_STATE_SUCCEEDED', batchStats: { requestCount: '2', successfulRequestCount: '2' } });
  expect(op.done).toBe(true);
});

test('file batch: resumable upload, create from the file, download {key, response} lines', async () => {
  const input = path.join(dir, 'in.jsonl');
  const lines = ['x', 'y', 'z'].map((key) => JSON.stringify({ key, request: { contents: [{ role: 'user', parts: [{ text: `say ${key}` }] }] } }));
  lines.push(JSON.stringify({ key: 'empty', request: { contents: [] } }));
  fs.writeFileSync(input, lines.join('\n') + '\n');
  const file = await ai.files.upload({ file: input, config: { mimeType: 'application/jsonl', displayName: 'anybatch:test/1' } });
  expect(file).toMatchObject({ mimeType: 'application/jsonl', displayName: 'anybatch:test/1', state: 'ACTIVE', sizeBytes: String(fs.statSync(input).size) });
  expect(file.name).toMatch(/^files\/[a-z0-9]+$/);
  expect(await ai.files.get({ name: file.name! })).toMatchObject({ name: file.name });
  const listed = [];
  for await (const f of await ai.files.list({ config: { pageSize: 1 } })) listed.push(f.name);
  expect(listed).toContain(file.name);

  const job = await ai.batches.create({ model: 'models/gemini-2.5-flash', src: file.name!, config: { displayName: 'file batch' } });
  const done = await until(job.name!, ['JOB_STATE_SUCCEEDED']);
  expect(done.dest?.fileName).toMatch(/^files\/[a-z0-9]+$/);
  const op = await raw(job.name!);
  expect(op.metadata.batchStats).toEqual({ requestCount: '4', successfulRequestCount: '3', failedRequestCount: '1' });

  const out = path.join(dir, 'out.jsonl');
  await ai.files.download({ file: done.dest!.fileName!, downloadPath: out });
  const results = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(results.map((r) => r.key)).toEqual(['x', 'y', 'z', 'empty']);
  expect(results[0].response.candidates[0].content.parts[0].text).toBe('Sandbox reply to: say x');
  expect(results[3].error).toMatchObject({ code: 3, status: 'INVALID_ARGUMENT' });
});

test('list pages through batches; cancel stops a running batch; delete forgets it', async () => {
  const many = Array.from({ length: 2000 }, (_, i) => ({ ...request(`n${i}`), metadata: { key: `k${i}` } }));
  const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: many, config: { displayName: 'to cancel' } });
  await ai.batches.cancel({ name: job.name! });
  const cancelled = await until(job.name!, ['JOB_STATE_CANCELLED']);
  const partial = cancelled.dest?.inlinedResponses ?? [];
  expect(partial.length).toBeLessThan(2000);

  const names: string[] = [];
  for await (const b of await ai.batches.list({ config: { pageSize: 1 } })) names.push(b.name!);
  expect(names).toContain(job.name);
  expect(new Set(names).size).toBe(names.length);

  await ai.batches.delete({ name: job.name! });
  await expect(ai.batches.get({ name: job.name! })).rejects.toMatchObject({ status: 404 });
});

test('errors come in Google shape: unknown batch, bad key, no key', async () => {
  const err = await ai.batches.get({ name: 'batches/nosuch' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect(JSON.parse((err as ApiError).message)).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
  const res = await fetch(`${sandbox.baseUrls.gemini}/v1/batches`);
  expect(res.status).toBe(403);
  expect(await res.json()).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
  const keyed = await startSandbox({ apiKey: 'right' });
  try {
    const wrong = new GoogleGenAI({ apiKey: 'wrong', httpOptions: { baseUrl: keyed.baseUrls.gemini, fetch: nodeFetch } });
    await expect(wrong.batches.list()).rejects.toMatchObject({ status: 400 });
    const ok = new GoogleGenAI({ apiKey: 'right', httpOptions: { baseUrl: keyed.baseUrls.gemini, apiVersion: 'v1', fetch: nodeFetch } });
    await expect(ok.batches.list()).resolves.toBeDefined();
  } finally {
    await keyed.close();
  }
});

test('faults: failValidation fails the batch, expireAfterSeconds expires it', async () => {
  sandbox.setFaults({ failValidation: true });
  try {
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: [{ ...request('f'), metadata: { key: 'f' } }] });
    await until(job.name!, ['JOB_STATE_FAILED']);
    expect((await raw(job.name!)).error).toMatchObject({ status: 'INVALID_ARGUMENT' });
  } finally {
    sandbox.setFaults({});
  }
  sandbox.setFaults({ expireAfterSeconds: 0.2 });
  try {
    const many = Array.from({ length: 500 }, (_, i) => ({ ...request(`e${i}`), metadata: { key: `e${i}` } }));
    const job = await ai.batches.create({ model: 'gemini-2.5-flash', src: many });
    await until(job.name!, ['JOB_STATE_EXPIRED']);
  } finally {
    sandbox.setFaults({});
  }
});
