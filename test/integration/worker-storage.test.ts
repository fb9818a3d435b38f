/**
 * The worker's activities on a batch staged in S3 (versitygw from the global setup), called directly (no
 * Temporal): plan -> upload -> create -> poll -> download -> merge against the sandbox provider, each step on
 * another "host" (a worker staging with its own ANYBATCH_HOME and no shared folder), results in the bucket,
 * every custom_id once, the staged inputs deleted after; and a worker whose store differs fails at once.
 * The client half is played by the test: it writes the staged input and its ids into the bucket itself.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createWorker } from '../../worker';
import { createActivities } from '../../src/activities';
import type { BatchActivities } from '../../src/contract/activities';
import type { Batch } from '../../src/contract/batch';
import { isTerminal } from '../../src/contract/batch';
import type { ResultLine } from '../../src/providers/types';
import { startSandbox } from '../../src/sandbox';
import type { Sandbox } from '../../src/sandbox';
import { LocalBlobStore, S3BlobStore } from '../../src/storage';
import type { BlobStore } from '../../src/storage';
import { layout } from '../../src/storage/layout';
import type { BatchSpec, PartPlan, PartResults } from '../../src/contract/spec';
import { testS3Config, testS3Env } from '../support/s3';

let sandbox: Sandbox;
let tmp: string;
let store: S3BlobStore;
const saved: Record<string, string | undefined> = {};
const ENV = ['ANYBATCH_STORAGE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'ANYBATCH_KEEP_INPUTS', 'ANYBATCH_ALLOWED_API_BASES'];

beforeAll(async () => {
  for (const k of ENV) saved[k] = process.env[k];
  const prefix = `worker-${crypto.randomBytes(4).toString('hex')}`;
  // The worker's store comes from its environment, as in production.
  Object.assign(process.env, testS3Env(prefix));
  process.env.OPENAI_API_KEY = 'test-key';
  process.env.ANTHROPIC_API_KEY = 'sk-ant-test';
  delete process.env.ANYBATCH_KEEP_INPUTS;
  // The test's own view of the bucket (the "client").
  store = new S3BlobStore({ ...testS3Config(), prefix });
  sandbox = await startSandbox({ rate: 500, validationMs: 50, finalizingMs: 50, cancellingMs: 50 });
  // The specs carry no key of their own: the worker's keys go to the sandbox only because it is allowed.
  process.env.ANYBATCH_ALLOWED_API_BASES = sandbox.url;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-worker-storage-'));
});

afterAll(async () => {
  await sandbox?.close();
  if (store) {
    const keys: string[] = [];
    for await (const e of store.list('')) keys.push(e.key);
    for (const k of keys) await store.delete(k);
    store.destroy();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

/** A worker host: the real activities with a data folder of its own (nothing shared with the others but the bucket). */
function host(name: string, opts: { store?: BlobStore } = {}): { acts: BatchActivities; home: string; run: <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A) => Promise<R> } {
  const home = path.join(tmp, name);
  const acts = createActivities({ home, ...opts });
  const env = new MockActivityEnvironment({ scheduledTimestampMs: Date.now() } as never, { logger: new DefaultLogger('ERROR') });
  return { acts, home, run: (fn, ...args) => env.run(fn as never, ...(args as unknown as never[])) as never };
}

async function keysOf(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(prefix)) out.push(e.key);
  return out;
}

async function readLines(key: string): Promise<ResultLine[]> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ResultLine);
}

/** The client's half: stages the input and its ids at their keys and makes the spec. */
async function stageBatch(provider: 'openai' | 'anthropic', n: number, extra: Partial<BatchSpec> = {}): Promise<BatchSpec> {
  const batchId = `ab_${Date.now().toString(36)}${crypto.randomBytes(6).toString('hex')}`;
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ custom_id: `${provider}-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: provider === 'openai' ? 'gpt-4o-mini' : 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: `Question ${i}` }] } }),
  );
  const text = lines.join('\n') + '\n';
  await store.put(layout.inputIds(batchId), Array.from({ length: n }, (_, i) => JSON.stringify(`${provider}-${i}`)).join('\n') + '\n');
  await store.put(layout.input(batchId), text);
  return {
    batchId,
    provider,
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: null,
    createdAt: Math.floor(Date.now() / 1000),
    input: { path: store.uri(layout.input(batchId)), requestCount: n, bytes: Buffer.byteLength(text), model: null },
    resultsDir: store.uri(`results/${batchId}`),
    storage: { uri: store.rootUri(), inputKey: layout.input(batchId), resultsPrefix: layout.results(batchId) },
    pollIntervalMs: 100,
    connection: { apiBase: provider === 'openai' ? `${sandbox.url}/v1` : sandbox.url, sealed: null },
    maxRequestsPerPart: null,
    providerOptions: {},
    searchAttributes: false,
    ...extra,
  };
}

async function untilTerminal(h: ReturnType<typeof host>, spec: BatchSpec, id: string): Promise<Batch> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const b = await h.run(h.acts.retrieveProviderBatch, spec, id);
    if (isTerminal(b.status)) return b;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${b.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** plan on A; per part: upload on A, create on B, poll, download on C; merge on C. */
async function runBatch(spec: BatchSpec): Promise<{ parts: PartPlan[]; results: PartResults[]; files: Awaited<ReturnType<BatchActivities['mergeResults']>>; hosts: ReturnType<typeof host>[] }> {
  const [a, b, c] = [host(`${spec.batchId}-A`), host(`${spec.batchId}-B`), host(`${spec.batchId}-C`)];
  const parts = await a.run(a.acts.planParts, spec);
  const results: PartResults[] = [];
  for (const part of parts) {
    // What the workflow carries between activities: the plan's fields only.
    const plan: PartPlan = { index: part.index, path: part.path, requestCount: part.requestCount, bytes: part.bytes, firstRequest: part.firstRequest };
    const prepared = await a.run(a.acts.uploadPart, spec, plan);
    const created = await b.run(b.acts.createPartBatch, spec, plan, prepared);
    // A retried create (another host again) finds the batch made before, through the work folder or the provider.
    const again = await c.run(c.acts.createPartBatch, spec, plan, prepared);
    expect(again.id).toBe(created.id);
    const done = await untilTerminal(b, spec, created.id);
    expect(done.status).toBe('completed');
    results.push(await c.run(c.acts.downloadPartResults, spec, plan, done, null));
  }
  const files = await c.run(c.acts.mergeResults, spec, results);
  return { parts, results, files, hosts: [a, b, c] };
}

async function expectEveryIdOnce(spec: BatchSpec, files: { output_uri?: string; errors_uri?: string; output_count: number; errors_count: number }) {
  const prefix = spec.storage!.resultsPrefix!;
  expect(files.output_uri).toBe(store.uri(layout.output(prefix)));
  expect(files.errors_uri).toBe(store.uri(layout.errors(prefix)));
  const output = await readLines(layout.output(prefix));
  const errors = await readLines(layout.errors(prefix));
  expect(output.length).toBe(files.output_count);
  expect(errors.length).toBe(files.errors_count);
  const ids = [...output, ...errors].map((l) => l.custom_id).sort();
  const expected = Array.from({ length: spec.input.requestCount }, (_, i) => `${spec.provider}-${i}`).sort();
  expect(ids).toEqual(expected);
  return { output, errors };
}

test('an OpenAI batch split in three parts runs across three hosts sharing only the bucket', async () => {
  const spec = await stageBatch('openai', 10, { maxRequestsPerPart: 4 });
  const { parts, results, files, hosts } = await runBatch(spec);
  expect(parts.map((p) => p.requestCount)).toEqual([4, 4, 2]);
  expect(parts.map((p) => p.path)).toEqual([0, 1, 2].map((i) => store.uri(layout.part(spec.batchId, i))));
  const { output } = await expectEveryIdOnce(spec, files);
  expect(output).toHaveLength(10);
  expect(files.output_path).toBe(files.output_uri);
  // Results stay; staged inputs (input, ids, parts, work folders) and the merging host's scratch are gone.
  expect((await keysOf(layout.results(spec.batchId))).sort()).toEqual([layout.errors(layout.results(spec.batchId)), layout.output(layout.results(spec.batchId))]);
  expect(await keysOf(`inputs/${spec.batchId}.`)).toEqual([]);
  expect(fs.existsSync(path.join(hosts[2].home, 'cache', spec.batchId))).toBe(false);
  // Merging again (a retry after a crash) answers the same and loses nothing.
  const again = await hosts[1].run(hosts[1].acts.mergeResults, spec, results);
  expect(again).toMatchObject({ output_count: 10, errors_count: 0, output_uri: files.output_uri });
});

test('an Anthropic batch: the translations and id map made on one host serve the create and the download on others', async () => {
  const spec = await stageBatch('anthropic', 6);
  const { parts, files } = await runBatch(spec);
  expect(parts).toHaveLength(1);
  expect(parts[0].path).toBe(store.uri(spec.storage!.inputKey));
  const { output } = await expectEveryIdOnce(spec, files);
  expect(output).toHaveLength(6);
  expect(await keysOf(`inputs/${spec.batchId}.`)).toEqual([]);
});

test('ANYBATCH_KEEP_INPUTS=1 keeps the staged inputs; a part whose input is gone is accounted for from the ids', async () => {
  process.env.ANYBATCH_KEEP_INPUTS = '1';
  try {
    const spec = await stageBatch('openai', 3);
    const h = host(`${spec.batchId}-A`);
    const [part] = await h.run(h.acts.planParts, spec);
    await store.delete(spec.storage!.inputKey);
    // Upload of a part whose staged input is gone: permanent, naming the object.
    const failure = await h.run(h.acts.uploadPart, spec, part).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'storage_unreadable', nonRetryable: true, message: expect.stringContaining(store.uri(spec.storage!.inputKey)) });
    const res = await h.run(h.acts.downloadPartResults, spec, part, null, { code: 'storage_unreadable', message: 'gone' });
    expect(res.errorsCount).toBe(3);
    const files = await h.run(h.acts.mergeResults, spec, [res]);
    const { errors } = await expectEveryIdOnce(spec, files);
    expect(errors.every((l) => (l.error as { code: string }).code === 'storage_unreadable')).toBe(true);
    expect(await keysOf(`inputs/${spec.batchId}.`)).toEqual([layout.inputIds(spec.batchId)]);
  } finally {
    delete process.env.ANYBATCH_KEEP_INPUTS;
  }
});

test('a worker whose store differs from the batch\'s fails permanently with a clear message', async () => {
  const spec = await stageBatch('openai', 2);
  const local = new LocalBlobStore(path.join(tmp, 'other-home'));
  const h = host('other', { store: local });
  const failure = await h.run(h.acts.planParts, spec).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({
    type: 'storage_mismatch',
    nonRetryable: true,
    message: `batch ${spec.batchId} was staged in ${store.rootUri()} but this worker's store is ${local.rootUri()}: set ANYBATCH_STORAGE the same on clients and workers`,
  });
  // Nothing was written anywhere by that worker.
  expect(fs.existsSync(path.join(tmp, 'other-home'))).toBe(false);
  expect(await keysOf(`inputs/${spec.batchId}.`)).toHaveLength(2);
});

test('a batch in the local folder store runs on today\'s paths: no scratch, results where they always were, inputs deleted after', async () => {
  const home = path.join(tmp, 'local-home');
  const local = new LocalBlobStore(home);
  const h = host('local-host', { store: local });
  const batchId = `ab_${crypto.randomBytes(6).toString('hex')}`;
  const n = 5;
  const text = Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `openai-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Q${i}` }] } })).join('\n') + '\n';
  await local.put(layout.inputIds(batchId), Array.from({ length: n }, (_, i) => JSON.stringify(`openai-${i}`)).join('\n') + '\n');
  await local.put(layout.input(batchId), text);
  const base = await stageBatch('openai', 1);
  const spec: BatchSpec = {
    ...base,
    batchId,
    input: { path: local.pathOf(layout.input(batchId)), requestCount: n, bytes: Buffer.byteLength(text), model: null },
    resultsDir: path.join(home, 'results', batchId),
    storage: { uri: local.rootUri(), inputKey: layout.input(batchId), resultsPrefix: layout.results(batchId) },
    maxRequestsPerPart: 3,
  };
  const parts = await h.run(h.acts.planParts, spec);
  expect(parts.map((p) => p.path)).toEqual([0, 1].map((i) => path.join(home, 'inputs', `${batchId}.part-${i}.jsonl`)));
  const results: PartResults[] = [];
  for (const part of parts) {
    const prepared = await h.run(h.acts.uploadPart, spec, part);
    const created = await h.run(h.acts.createPartBatch, spec, part, prepared);
    const done = await untilTerminal(h, spec, created.id);
    results.push(await h.run(h.acts.downloadPartResults, spec, part, done, null));
  }
  expect(results[0].outputPath).toBe(path.join(home, 'results', batchId, '.parts', '0.output.jsonl'));
  const files = await h.run(h.acts.mergeResults, spec, results);
  expect(files).toEqual({
    output_path: path.join(home, 'results', batchId, 'output.jsonl'),
    errors_path: path.join(home, 'results', batchId, 'errors.jsonl'),
    output_uri: `file://${path.join(home, 'results', batchId, 'output.jsonl')}`,
    errors_uri: `file://${path.join(home, 'results', batchId, 'errors.jsonl')}`,
    output_count: n,
    errors_count: 0,
    // What the results cost, from their usage (checked in detail by test/integration/cost.test.ts).
    cost: expect.objectContaining({ currency: 'USD', total: expect.any(Number) }),
  });
  expect(files.cost!.total).toBeGreaterThan(0);
  expect(fs.readFileSync(files.output_path, 'utf8').split('\n').filter(Boolean)).toHaveLength(n);
  expect(fs.readdirSync(path.join(home, 'inputs'))).toEqual([]);
  expect(fs.existsSync(path.join(h.home, 'cache'))).toBe(false);
});

test('a worker whose store is unusable does not start, and says why, fast', async () => {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3;
  process.env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.1:9';
  const started = Date.now();
  try {
    // Before Temporal is even asked (this address has no server).
    const err = await createWorker({ address: '127.0.0.1:9', skipSearchAttributes: true }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'storage_unreachable', message: expect.stringContaining('The worker cannot use its S3 bucket') });
    expect((err as Error).message).toContain('127.0.0.1:9');
    expect((err as Error).message).not.toContain(process.env.AWS_SECRET_ACCESS_KEY!);
    expect(Date.now() - started).toBeLessThan(10_000);
  } finally {
    process.env.AWS_ENDPOINT_URL_S3 = endpoint;
  }
});
