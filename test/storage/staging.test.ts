/**
 * A batch's files as the worker sees them (src/storage/batch-files.ts, chosen by src/storage/worker-files.ts) on both
 * stores: the local folder (today's paths, no copies)
 * and S3 (versitygw from the global setup: parts as objects, a scratch cache, the work folder kept in step
 * across hosts), the identity check, results in the store, and the clean-up once results are written.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { classifyFailure } from '../../src/activities/failures';
import { StorageMismatchError } from '../../src/storage/batch-files';
import { LegacyBatchFiles } from '../../src/storage/legacy-files';
import { LocalBatchFiles } from '../../src/storage/local-files';
import { RemoteBatchFiles } from '../../src/storage/remote-files';
import { partFileName } from '../../src/providers/part-input';
import { WorkerFiles, checkWorkerStore, sweepScratch } from '../../src/storage/worker-files';
import { mergeResults, writePartResults } from '../../src/results/writer';
import type { StoreResults } from '../../src/results/writer';
import { LocalBlobStore, S3BlobStore, StorageError } from '../../src/storage';
import type { BlobStore, S3StoreConfig } from '../../src/storage';
import { layout } from '../../src/storage/layout';
import type { BatchSpec, PartPlan } from '../../src/contract/spec';
import type { ResultLine } from '../../src/providers/types';
import { testS3Config } from '../support/s3';

const stores: S3BlobStore[] = [];
function s3Store(overrides: Partial<S3StoreConfig> = {}): S3BlobStore {
  const store = new S3BlobStore({ ...testS3Config(), prefix: `staging-${crypto.randomBytes(4).toString('hex')}`, partSize: 5 * 1024 * 1024, queueSize: 2, ...overrides });
  stores.push(store);
  return store;
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-staging-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  delete process.env.ANYBATCH_KEEP_INPUTS;
});
afterAll(async () => {
  for (const s of stores) {
    try {
      const keys: string[] = [];
      for await (const e of s.list('')) keys.push(e.key);
      for (const k of keys) await s.delete(k);
    } catch {
      // the stores made to fail (unreachable, no bucket, refused credentials)
    }
    s.destroy();
  }
});

const line = (i: number, pad = 0) => JSON.stringify({ custom_id: `r${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', pad: 'x'.repeat(pad) } });

/** Every file under `dir` (none when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[]).filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? e.path, e.name));
}

async function readAll(store: BlobStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function keysOf(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(prefix)) out.push(e.key);
  return out;
}

async function collect(it: AsyncIterable<string> | null): Promise<string[] | null> {
  if (!it) return null;
  const out: string[] = [];
  for await (const v of it) out.push(v);
  return out;
}

/** Stages `n` requests as the client does (input + ids at their keys) and returns the batch's spec. */
async function stage(store: BlobStore, n: number, opts: { pad?: number; resultsDir?: string } = {}): Promise<BatchSpec> {
  const batchId = `ab_${crypto.randomBytes(6).toString('hex')}`;
  const text = Array.from({ length: n }, (_, i) => line(i, opts.pad)).join('\n') + '\n';
  await store.put(layout.inputIds(batchId), Array.from({ length: n }, (_, i) => JSON.stringify(`r${i}`)).join('\n') + '\n');
  await store.put(layout.input(batchId), Readable.from([Buffer.from(text)]));
  const local = store instanceof LocalBlobStore;
  return {
    batchId,
    provider: 'openai',
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: null,
    createdAt: Math.floor(Date.now() / 1000),
    input: { path: local ? store.pathOf(layout.input(batchId)) : store.uri(layout.input(batchId)), requestCount: n, bytes: Buffer.byteLength(text), model: 'm' },
    resultsDir: opts.resultsDir ?? (local ? store.pathOf(`results/${batchId}`) : store.uri(`results/${batchId}`)),
    storage: { uri: store.rootUri(), inputKey: layout.input(batchId), resultsPrefix: opts.resultsDir ? null : layout.results(batchId) },
    pollIntervalMs: 1000,
    connection: { apiBase: null, sealed: null },
    maxRequestsPerPart: null,
    providerOptions: {},
    searchAttributes: false,
  };
}

const ok = (id: string): ResultLine => ({ id: `r-${id}`, custom_id: id, response: { status_code: 200, request_id: 'q', body: {} }, error: null });
async function* lines(...items: ResultLine[]): AsyncGenerator<ResultLine> {
  yield* items;
}

describe('a batch in the local folder store: today\'s paths, no copies', () => {
  let store: LocalBlobStore;
  let staging: WorkerFiles;
  beforeEach(() => {
    store = new LocalBlobStore(path.join(tmp, 'home'));
    staging = new WorkerFiles({ store, home: path.join(tmp, 'home') });
  });

  test('plan, part files, ids, results and clean-up use the ANYBATCH_HOME layout', async () => {
    const spec = await stage(store, 5);
    const b = staging.forBatch(spec);
    expect(b).toBeInstanceOf(LocalBatchFiles);
    expect(b).not.toBeInstanceOf(LegacyBatchFiles);
    // One part: the staged file itself.
    const single = await b.plan({ maxRequests: 10, maxBytes: 1e9, requestCount: 5 });
    expect(single).toEqual([{ index: 0, path: spec.input.path, requestCount: 5, bytes: spec.input.bytes, estimatedTokens: expect.objectContaining({ withoutMaxOutput: 5 }) }]);
    const parts = await b.plan({ maxRequests: 2, maxBytes: 1e9 });
    const home = store.root;
    expect(parts.map((p) => p.path)).toEqual([0, 1, 2].map((i) => path.join(home, 'inputs', `${spec.batchId}.part-${i}.jsonl`)));
    expect(parts.map((p) => p.requestCount)).toEqual([2, 2, 1]);
    const files = b.partFiles(parts[1]);
    expect(files).toEqual({ path: parts[1].path, workDir: path.join(home, 'inputs', `${spec.batchId}.work`, '1'), persist: expect.any(Function) });
    await files.persist(); // the folder is the store: nothing to upload
    expect(b.results).toBe(path.join(home, 'results', spec.batchId));

    // No copies: the adapter gets the real files.
    const seen = await b.withPart(parts[1], { input: true }, async (f) => {
      fs.mkdirSync(f.workDir, { recursive: true });
      fs.writeFileSync(path.join(f.workDir, 'marker.json'), '{}');
      return fs.readFileSync(f.path, 'utf8');
    });
    expect(seen).toBe([line(2), line(3)].join('\n') + '\n');
    expect(fs.existsSync(path.join(home, 'cache'))).toBe(false);

    const planned = parts.map((p, i) => ({ ...p, firstRequest: i * 2 }));
    expect(await collect(await b.partIds(planned[2]))).toEqual(['r4']);
    fs.rmSync(planned[2].path);
    expect(await collect(await b.partIds(planned[2]))).toEqual(['r4']); // from the ids recorded at validation
    await expect(b.withPart(planned[2], { input: true }, async () => 1)).rejects.toMatchObject({ code: 'ENOENT' });

    // Results as before, with URIs; then the staged inputs go, the results stay.
    const results: string[] = [];
    const written = [];
    for (const p of planned) {
      written.push(await writePartResults({ batchId: spec.batchId, resultsDir: b.results as string, part: p, ids: (await b.partIds(p))!, lines: null, outcome: { code: 'x', message: 'y' } }));
    }
    const merged = b.withUris(await mergeResults(b.results, written));
    expect(merged).toMatchObject({ output_path: path.join(home, 'results', spec.batchId, 'output.jsonl'), errors_count: 5, output_count: 0 });
    expect(merged.errors_uri).toBe(`file://${path.join(home, 'results', spec.batchId, 'errors.jsonl')}`);
    results.push(...fs.readdirSync(path.join(home, 'results', spec.batchId)));
    expect(results.sort()).toEqual(['errors.jsonl', 'output.jsonl']);
    expect(await b.cleanUp()).toEqual([]);
    expect(fs.readdirSync(path.join(home, 'inputs')).filter((f) => f.startsWith(spec.batchId))).toEqual([]);
    expect(fs.existsSync(merged.errors_path)).toBe(true);
    expect(await b.cleanUp()).toEqual([]); // idempotent
  });

  test('ANYBATCH_KEEP_INPUTS=1 keeps the staged inputs; a caller\'s own results folder is used as given', async () => {
    const spec = await stage(store, 2, { resultsDir: path.join(tmp, 'mine') });
    const b = staging.forBatch(spec);
    expect(b.results).toBe(path.join(tmp, 'mine'));
    process.env.ANYBATCH_KEEP_INPUTS = '1';
    await b.cleanUp();
    expect(fs.existsSync(spec.input.path)).toBe(true);
    expect(await keysOf(store, `inputs/${spec.batchId}.`)).toHaveLength(2);
  });

  test('a batch without storage (staged before the store) keeps its local paths', async () => {
    const spec = await stage(store, 3);
    const legacy: BatchSpec = { ...spec, storage: undefined };
    const b = new WorkerFiles({ home: path.join(tmp, 'home'), store: new LocalBlobStore(path.join(tmp, 'elsewhere')) }).forBatch(legacy);
    expect(b).toBeInstanceOf(LegacyBatchFiles);
    const parts = await b.plan({ maxRequests: 2, maxBytes: 1e9 });
    expect(parts[0].path).toBe(spec.input.path.replace(/\.jsonl$/, '.part-0.jsonl'));
    expect(b.partFiles(parts[0]).workDir).toBe(path.join(path.dirname(spec.input.path), `${spec.batchId}.work`, '0'));
    expect(b.results).toBe(spec.resultsDir);
    expect(await b.cleanUp()).toEqual([]);
    expect(fs.existsSync(spec.input.path)).toBe(true);
  });
});

describe('the identity check', () => {
  test('a batch staged in another store fails permanently, naming both stores', async () => {
    const s3 = s3Store();
    const spec = await stage(s3, 1);
    const local = new LocalBlobStore(path.join(tmp, 'home'));
    const err = (() => {
      try {
        new WorkerFiles({ store: local, home: tmp }).forBatch(spec);
      } catch (e) {
        return e as Error;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(StorageMismatchError);
    expect(err.message).toBe(`batch ${spec.batchId} was staged in ${s3.rootUri()} but this worker's store is ${local.rootUri()}: set ANYBATCH_STORAGE the same on clients and workers`);
    const failure = classifyFailure(err);
    expect(failure).toMatchObject({ type: 'storage_mismatch', nonRetryable: true });
  });

  test('the worker store is checked at start: unreachable endpoint and missing bucket are clear and fast', async () => {
    const started = Date.now();
    await expect(checkWorkerStore({ store: s3Store({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }), timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'storage_unreachable',
      message: expect.stringContaining('The worker cannot use its S3 bucket'),
    });
    await expect(checkWorkerStore({ store: s3Store({ bucket: 'no-such-bucket-here' }) })).rejects.toMatchObject({ code: 'storage_bucket_missing' });
    const refused = checkWorkerStore({ store: s3Store({ credentials: { accessKeyId: 'nobody', secretAccessKey: 'very-secret-value' } }) });
    await expect(refused).rejects.toMatchObject({ code: 'storage_access_denied' });
    await refused.catch((e: Error) => expect(e.message).not.toContain('very-secret-value'));
    expect(Date.now() - started).toBeLessThan(15_000);
    await expect(checkWorkerStore({ store: s3Store() })).resolves.toBeDefined();
    await expect(checkWorkerStore({ store: new LocalBlobStore(path.join(tmp, 'h')) })).resolves.toBeDefined();
    expect(fs.readdirSync(path.join(tmp, 'h'))).toEqual([]); // no probe object (nor its folder) in ANYBATCH_HOME
  });

  test('store errors are classified: missing objects and refused credentials fail at once, an unreachable store is retried', () => {
    expect(classifyFailure(new StorageError('storage_unreachable', 'x'))).toMatchObject({ type: 'storage_unreachable', nonRetryable: false });
    expect(classifyFailure(new StorageError('storage_error', 'x'))).toMatchObject({ type: 'storage_error', nonRetryable: false });
    expect(classifyFailure(new StorageError('storage_access_denied', 'x'))).toMatchObject({ type: 'storage_access_denied', nonRetryable: true });
    expect(classifyFailure(new StorageError('storage_bucket_missing', 'x'))).toMatchObject({ type: 'storage_bucket_missing', nonRetryable: true });
  });
});

describe('a batch in S3: parts as objects, a scratch cache, the work folder kept in step', () => {
  let store: S3BlobStore;
  beforeEach(() => {
    store = s3Store();
  });
  const hostA = () => new WorkerFiles({ store, home: path.join(tmp, 'hostA') });
  const hostB = () => new WorkerFiles({ store, home: path.join(tmp, 'hostB') });

  test('plan writes deterministic part objects (a retry overwrites them); a fitting input is its own part', async () => {
    const spec = await stage(store, 7, { pad: 100 });
    const b = hostA().forBatch(spec);
    expect(b).toBeInstanceOf(RemoteBatchFiles);
    expect(await b.plan({ maxRequests: 10, maxBytes: 1e9, requestCount: 7 })).toEqual([
      { index: 0, path: store.uri(spec.storage!.inputKey), requestCount: 7, bytes: spec.input.bytes, estimatedTokens: expect.objectContaining({ withoutMaxOutput: 7 }) },
    ]);
    const parts = await b.plan({ maxRequests: 3, maxBytes: 1e9 });
    expect(parts.map((p) => p.path)).toEqual([0, 1, 2].map((i) => store.uri(layout.part(spec.batchId, i))));
    const again = await b.plan({ maxRequests: 3, maxBytes: 1e9 });
    expect(again).toEqual(parts);
    const texts = await Promise.all(parts.map((_, i) => readAll(store, layout.part(spec.batchId, i))));
    expect(texts.join('')).toBe(await readAll(store, spec.storage!.inputKey));
    expect(parts.map((p, i) => Buffer.byteLength(texts[i]))).toEqual(parts.map((p) => p.bytes));
    // Nothing on the worker's disk for planning.
    expect(fs.existsSync(path.join(tmp, 'hostA', 'cache'))).toBe(false);
  });

  test('a missing staged input fails permanently, naming the object', async () => {
    const spec = await stage(store, 2);
    await store.delete(spec.storage!.inputKey);
    const err = await hostA().forBatch(spec).plan({ maxRequests: 10, maxBytes: 1e9 }).catch((e: Error) => e);
    const failure = classifyFailure(err);
    expect(failure).toMatchObject({ type: 'storage_unreadable', nonRetryable: true });
    expect(failure.message).toContain(store.uri(spec.storage!.inputKey));
  });

  test('the input is streamed from the store for the adapter (no copy on the worker) and the work folder follows the part from host to host', async () => {
    const spec = await stage(store, 6, { pad: 50 });
    const [part0] = (await hostA().forBatch(spec).plan({ maxRequests: 3, maxBytes: 1e9 })).map((p, i) => ({ ...p, firstRequest: i * 3 }));
    const a = hostA().forBatch(spec);
    const filesA = a.partFiles(part0);
    expect(filesA.path).toBe(store.uri(layout.part(spec.batchId, 0)));
    expect(partFileName({ path: filesA.path, name: filesA.name })).toBe(`${spec.batchId}.part-0.jsonl`); // the name an upload is found by again

    // Host A: the adapter reads the input and writes its translations; a marker written mid-call is in the store before the call returns.
    await a.withPart(part0, { input: true }, async (f) => {
      const read = async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of f.read!()) chunks.push(Buffer.from(chunk));
        return Buffer.concat(chunks).toString('utf8');
      };
      expect(await read()).toBe([line(0, 50), line(1, 50), line(2, 50)].join('\n') + '\n');
      expect(await read()).toBe([line(0, 50), line(1, 50), line(2, 50)].join('\n') + '\n'); // again, for a retried upload
      fs.mkdirSync(f.workDir, { recursive: true });
      fs.writeFileSync(path.join(f.workDir, 'requests.jsonl.tmp'), 'translated\n');
      fs.renameSync(path.join(f.workDir, 'requests.jsonl.tmp'), path.join(f.workDir, 'requests.jsonl'));
      fs.writeFileSync(path.join(f.workDir, 'ids.json'), '{"a":"b"}');
      const deadline = Date.now() + 5000;
      while (!(await store.head(layout.work(spec.batchId, 0) + 'ids.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await store.head(layout.work(spec.batchId, 0) + 'ids.json')).not.toBeNull();
    });
    // Nothing of the input was written to this worker's disk.
    expect(filesUnder(path.join(tmp, 'hostA', 'cache', spec.batchId)).filter((f) => !f.startsWith(filesA.workDir + path.sep) && !f.includes(`${path.sep}.sync${path.sep}`))).toEqual([]);
    expect((await keysOf(store, layout.work(spec.batchId, 0))).sort()).toEqual([`${layout.work(spec.batchId, 0)}ids.json`, `${layout.work(spec.batchId, 0)}requests.jsonl`]);

    // Host B (after a crash of A): finds A's files, writes a create marker, even when its call then fails.
    const b = hostB().forBatch(spec);
    await expect(
      b.withPart(part0, {}, async (f) => {
        expect(fs.readFileSync(path.join(f.workDir, 'requests.jsonl'), 'utf8')).toBe('translated\n');
        expect(fs.readFileSync(path.join(f.workDir, 'ids.json'), 'utf8')).toBe('{"a":"b"}');
        fs.writeFileSync(path.join(f.workDir, 'create.json'), '{"intentAt":1}');
        throw new Error('provider timed out');
      }),
    ).rejects.toThrow('provider timed out');
    expect(await readAll(store, `${layout.work(spec.batchId, 0)}create.json`)).toBe('{"intentAt":1}');
    await b.withPart(part0, {}, async (f) => {
      fs.writeFileSync(path.join(f.workDir, 'create.json'), '{"intentAt":1,"batchId":"msgbatch_1"}');
    });

    // Back on host A: its stale copy is replaced by B's newer marker; files it never had arrive.
    await a.withPart(part0, {}, async (f) => {
      expect(fs.readFileSync(path.join(f.workDir, 'create.json'), 'utf8')).toBe('{"intentAt":1,"batchId":"msgbatch_1"}');
    });
    // A change made here that never reached the store (a failed upload) is kept, not overwritten, and uploaded.
    fs.writeFileSync(path.join(filesA.workDir, 'create.json'), '{"local":true}');
    await a.withPart(part0, {}, async (f) => {
      expect(fs.readFileSync(path.join(f.workDir, 'create.json'), 'utf8')).toBe('{"local":true}');
    });
    expect(await readAll(store, `${layout.work(spec.batchId, 0)}create.json`)).toBe('{"local":true}');
    // No temp file was uploaded.
    expect((await keysOf(store, layout.work(spec.batchId, 0))).some((k) => k.endsWith('.tmp'))).toBe(false);
  });

  test('persist puts a create marker in the store at once, before the call goes on (and fails loudly outside a call)', async () => {
    const spec = await stage(store, 2);
    const [part0] = await hostA().forBatch(spec).plan({ maxRequests: 10, maxBytes: 1e9 });
    const marker = `${layout.work(spec.batchId, 0)}create.json`;
    const a = hostA().forBatch(spec);
    await a.withPart(part0, {}, async (f) => {
      fs.mkdirSync(f.workDir, { recursive: true });
      fs.writeFileSync(path.join(f.workDir, 'create.json'), '{"intentAt":7}');
      await f.persist();
      // No waiting: the marker is there the moment persist returns (the request it guards comes next).
      expect(await readAll(store, marker)).toBe('{"intentAt":7}');
      fs.writeFileSync(path.join(f.workDir, 'create.json'), '{"intentAt":7,"batchId":"msgbatch_2"}');
      await f.persist();
      expect(await readAll(store, marker)).toBe('{"intentAt":7,"batchId":"msgbatch_2"}');
    });
    await expect(a.partFiles(part0).persist()).rejects.toThrow(/only kept in the store during an adapter call/);
  });

  test('a cut-off read of the input is an error (retried), never fewer bytes, and leaves no file', async () => {
    const spec = await stage(store, 4, { pad: 1000 });
    const short: BlobStore = Object.create(store, {
      get: {
        value: async (key: string) => {
          const full = await readAll(store, key);
          return Readable.from([Buffer.from(full.slice(0, 100))]);
        },
      },
    });
    const b = new RemoteBatchFiles(spec, short, path.join(tmp, 'hostC'));
    const part: PartPlan = { index: 0, path: spec.input.path, requestCount: 4, bytes: spec.input.bytes };
    const seen: Buffer[] = [];
    const err = await b
      .withPart(part, { input: true }, async (f) => {
        for await (const chunk of f.read!()) seen.push(chunk);
      })
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as Error).message).toContain(`Read 100 of the ${spec.input.bytes} bytes of ${store.uri(spec.storage!.inputKey)}`);
    expect(classifyFailure(err)).toMatchObject({ type: 'storage_error', nonRetryable: false });
    expect(Buffer.concat(seen).length).toBe(100); // what came before the error, never a complete-looking part
    expect(filesUnder(path.join(tmp, 'hostC')).filter((f) => !f.includes(`${path.sep}.sync${path.sep}`))).toEqual([]);
  });

  test('ids from the part object, else from the ids list; results and merge in the store; clean-up after', async () => {
    const spec = await stage(store, 5);
    const a = hostA().forBatch(spec) as RemoteBatchFiles;
    const parts = (await a.plan({ maxRequests: 2, maxBytes: 1e9 })).map((p, i) => ({ ...p, firstRequest: i * 2 }));
    expect(await collect(await a.partIds(parts[1]))).toEqual(['r2', 'r3']);
    await store.delete(layout.part(spec.batchId, 1));
    expect(await collect(await a.partIds(parts[1]))).toEqual(['r2', 'r3']);
    await store.delete(layout.inputIds(spec.batchId));
    expect(await a.partIds(parts[1])).toBeNull();
    await store.put(layout.inputIds(spec.batchId), ['r0', 'r1', 'r2', 'r3', 'r4'].map((s) => JSON.stringify(s)).join('\n') + '\n');

    const target = a.results as StoreResults;
    expect(target.prefix).toBe(layout.results(spec.batchId));
    const written = [];
    for (const p of parts) {
      written.push(await writePartResults({ batchId: spec.batchId, store: target, part: p, ids: (await a.partIds(p))!, lines: lines(ok('r0'), ok('r3')), outcome: { code: 'missing_result', message: 'm' } }));
    }
    expect(written[1]).toEqual({ outputPath: store.uri(layout.partOutput(target.prefix, 1)), errorsPath: store.uri(layout.partErrors(target.prefix, 1)), outputCount: 1, errorsCount: 1, usage: {} });
    // Scratch exists on this host (a work folder was used).
    await a.withPart(parts[0], {}, async () => undefined);
    expect(fs.existsSync(a.scratchRoot)).toBe(true);

    const merged = await mergeResults(target, written);
    const out = layout.output(target.prefix);
    expect(merged).toEqual({
      output_path: store.uri(out),
      errors_path: store.uri(layout.errors(target.prefix)),
      output_uri: store.uri(out),
      errors_uri: store.uri(layout.errors(target.prefix)),
      output_count: 2,
      errors_count: 3,
    });
    const ids = [...(await readAll(store, out)).split('\n'), ...(await readAll(store, layout.errors(target.prefix))).split('\n')].filter(Boolean).map((l) => JSON.parse(l).custom_id);
    expect(ids.sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(await keysOf(store, `${target.prefix}.parts/`)).toEqual([]);
    // Repeated after a crash (parts gone): the merged objects are counted.
    expect(await mergeResults(target, written)).toEqual(merged);

    expect(await a.cleanUp()).toEqual([]);
    expect(await keysOf(store, 'inputs/')).toEqual([]);
    expect(fs.existsSync(a.scratchRoot)).toBe(false);
    expect((await keysOf(store, target.prefix)).sort()).toEqual([layout.errors(target.prefix), out]);
  });

  test('old scratch folders are swept at worker start', async () => {
    const home = path.join(tmp, 'sweep');
    fs.mkdirSync(path.join(home, 'cache', 'ab_old', 'inputs'), { recursive: true });
    fs.mkdirSync(path.join(home, 'cache', 'ab_new'), { recursive: true });
    const old = new Date(Date.now() - 8 * 24 * 3600_000);
    fs.utimesSync(path.join(home, 'cache', 'ab_old'), old, old);
    await sweepScratch(home);
    expect(fs.readdirSync(path.join(home, 'cache'))).toEqual(['ab_new']);
  });
});
