/**
 * The recovery of given-up parts (src/activities/recover.ts, src/results/recovery.ts) on a local folder store, with
 * the worker's real staging and result writer; the provider is a list of result lines. What is checked: only the
 * requests still carrying their part's give-up error are replaced, each once; a recovery stopped anywhere (after
 * staging the rewrite, mid-commit) finishes when run again, without duplicating or losing a line.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { recoverResults, type RecoveryIo } from '../../src/activities/recover';
import { WorkerFiles } from '../../src/storage/worker-files';
import type { Batch } from '../../src/contract/batch';
import type { RecoverablePart } from '../../src/contract/recovery';
import type { BatchSpec } from '../../src/contract/spec';
import type { ResultLine } from '../../src/providers/types';
import { commitRewrite, readManifest, recordRecoverable, recoveredPartKeys, replaceableIds, stageRewrite, writeManifest } from '../../src/results/recovery';
import { writePartResults } from '../../src/results/writer';
import { LocalBlobStore } from '../../src/storage';
import { layout } from '../../src/storage/layout';

let tmp: string;
let store: LocalBlobStore;
let staging: WorkerFiles;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-recover-'));
  store = new LocalBlobStore(tmp);
  staging = new WorkerFiles({ store, home: tmp });
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const N = 10;
const id = (i: number) => `r${i}`;
const ok = (i: number): ResultLine => ({ id: `ok-${i}`, custom_id: id(i), response: { status_code: 200, request_id: 'q', body: { answer: i } }, error: null });
const err = (i: number, code: string): ResultLine => ({ id: `e-${i}`, custom_id: id(i), response: null, error: { code, message: code } });
const jsonl = (lines: unknown[]) => lines.map((l) => JSON.stringify(l) + '\n').join('');

/**
 * A finished batch of N requests in two parts (0..4, 5..9): part 0 succeeded, part 1 was given up
 * (`status_unreadable` for each request, except r9 which a retry round already answered with another error).
 */
async function finishedBatch(): Promise<{ spec: BatchSpec; part: RecoverablePart }> {
  const batchId = `ab_${crypto.randomBytes(6).toString('hex')}`;
  const input = Array.from({ length: N }, (_, i) => JSON.stringify({ custom_id: id(i), method: 'POST', url: '/v1/chat/completions', body: { model: 'm' } })).join('\n') + '\n';
  await store.put(layout.input(batchId), Readable.from([Buffer.from(input)]));
  await store.put(layout.inputIds(batchId), Array.from({ length: N }, (_, i) => JSON.stringify(id(i))).join('\n') + '\n');
  const prefix = layout.results(batchId);
  await store.put(layout.output(prefix), jsonl([0, 1, 2, 3, 4].map(ok)));
  await store.put(layout.errors(prefix), jsonl([...[5, 6, 7, 8].map((i) => err(i, 'status_unreadable')), err(9, 'rate_limit_exceeded')]));
  const spec: BatchSpec = {
    batchId,
    provider: 'openai',
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: null,
    createdAt: Math.floor(Date.now() / 1000),
    input: { path: store.pathOf(layout.input(batchId)), requestCount: N, bytes: input.length, model: 'm' },
    resultsDir: store.pathOf(`results/${batchId}`),
    storage: { uri: store.rootUri(), inputKey: layout.input(batchId), resultsPrefix: prefix },
    pollIntervalMs: 1000,
    connection: { apiBase: null, sealed: null },
    maxRequestsPerPart: null,
    providerOptions: {},
    searchAttributes: false,
  };
  const part: RecoverablePart = { plan: { index: 1, path: spec.input.path, requestCount: 5, bytes: 0, firstRequest: 5 }, providerBatchId: 'batch_1', code: 'status_unreadable' };
  await recordRecoverable({ store, prefix }, batchId, [part]);
  return { spec, part };
}

const finishedProviderBatch = { id: 'batch_1', object: 'batch', status: 'completed' } as Batch;

/** The provider as a list of lines: r5 and r6 succeeded, r7 failed, r8 is not reported, r9 answered too. */
function io(calls: string[] = []): RecoveryIo {
  return {
    async retrieve() {
      calls.push('retrieve');
      return finishedProviderBatch;
    },
    async write(part, batch, ids, target) {
      calls.push('write');
      async function* lines() {
        yield* [ok(5), ok(6), err(7, 'server_error'), ok(9)];
      }
      return writePartResults({ batchId: 'b', store: target, part, ids, lines: lines(), outcome: { code: 'missing_result', message: `not reported (batch ${batch.status})` } });
    },
    log: { info: () => undefined, warn: () => undefined },
  };
}

async function read(key: string): Promise<ResultLine[]> {
  return fs
    .readFileSync(store.pathOf(key), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ResultLine);
}

async function expectRecovered(spec: BatchSpec): Promise<void> {
  const prefix = layout.results(spec.batchId);
  const output = await read(layout.output(prefix));
  const errors = await read(layout.errors(prefix));
  expect(output.map((l) => l.custom_id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
  // r9's line from the retry round stays; the provider's line for r9 is not taken (r9 was not given up).
  expect(errors.map((l) => [l.custom_id, l.error?.code ?? l.response?.status_code])).toEqual([
    ['r9', 'rate_limit_exceeded'],
    ['r7', 'server_error'],
    ['r8', 'missing_result'],
  ]);
  expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual(Array.from({ length: N }, (_, i) => id(i)).sort());
}

test('only the requests still carrying the give-up code are replaced, each exactly once; the manifest and staged input go', async () => {
  const { spec } = await finishedBatch();
  const report = await recoverResults(spec, staging.forBatch(spec), io());
  expect(report.parts).toEqual([{ index: 1, provider_batch_id: 'batch_1', outcome: 'recovered', provider_status: 'completed', output: 2, errors: 2 }]);
  expect(report).toMatchObject({ remaining: 0, output_count: 7, errors_count: 3 });
  await expectRecovered(spec);
  const target = staging.forBatch(spec).resultsStore;
  expect(await readManifest(target)).toBeNull();
  expect(fs.existsSync(store.pathOf(layout.input(spec.batchId)))).toBe(false);
  expect(fs.existsSync(path.join(store.pathOf(layout.results(spec.batchId).replace(/\/$/, '')), '.recover'))).toBe(false);
  // Run again: nothing to do, nothing changes.
  const again = await recoverResults(spec, staging.forBatch(spec), io());
  expect(again).toMatchObject({ parts: [], remaining: 0, output_count: 7, errors_count: 3 });
  await expectRecovered(spec);
});

test('a provider batch still running leaves the files and the part as they were', async () => {
  const { spec } = await finishedBatch();
  const before = fs.readFileSync(store.pathOf(layout.errors(layout.results(spec.batchId))), 'utf8');
  const running: RecoveryIo = { ...io(), retrieve: async () => ({ ...finishedProviderBatch, status: 'in_progress' }) };
  const report = await recoverResults(spec, staging.forBatch(spec), running);
  expect(report.parts).toEqual([{ index: 1, provider_batch_id: 'batch_1', outcome: 'not_finished', provider_status: 'in_progress' }]);
  expect(report.remaining).toBe(1);
  expect(fs.readFileSync(store.pathOf(layout.errors(layout.results(spec.batchId))), 'utf8')).toBe(before);
  expect(fs.existsSync(store.pathOf(layout.input(spec.batchId)))).toBe(true);
});

test('a provider that still refuses the batch is reported with its error; nothing is rewritten', async () => {
  const { spec } = await finishedBatch();
  const refusing: RecoveryIo = { ...io(), retrieve: async () => Promise.reject(new Error('401 invalid_api_key at http://127.0.0.1:1/v1')) };
  const report = await recoverResults(spec, staging.forBatch(spec), refusing);
  expect(report.parts).toEqual([{ index: 1, provider_batch_id: 'batch_1', outcome: 'unreadable', error: '401 invalid_api_key at http://127.0.0.1:1/v1' }]);
  expect(report).toMatchObject({ remaining: 1, output_count: 5, errors_count: 5 });
});

test('stopped after the rewrite was staged and marked for commit: the next run finishes it and reads nothing again', async () => {
  const { spec, part } = await finishedBatch();
  const target = staging.forBatch(spec).resultsStore;
  const ids = await replaceableIds(target, (await staging.forBatch(spec).partIds(part.plan))!, part.code);
  expect([...ids].sort()).toEqual(['r5', 'r6', 'r7', 'r8']);
  await io().write(part.plan, finishedProviderBatch, (async function* () { yield* ids; })(), { store: target.store, prefix: `${target.prefix}.recover/` });
  expect(await target.store.head(recoveredPartKeys(target.prefix, 1).output)).not.toBeNull();
  const counts = await stageRewrite(target, 1, ids, part.code);
  const manifest = (await readManifest(target))!;
  await writeManifest(target, { ...manifest, committing: { index: 1, ...counts } });
  // The crash: the merged files are still the old ones.
  expect((await read(layout.errors(layout.results(spec.batchId)))).length).toBe(5);

  const calls: string[] = [];
  const report = await recoverResults(spec, staging.forBatch(spec), io(calls));
  expect(calls).toEqual([]);
  expect(report).toMatchObject({ parts: [], remaining: 0, output_count: 7, errors_count: 3 });
  await expectRecovered(spec);
});

test('stopped mid-commit (output copied, errors not): the next run copies the rest, never appending twice', async () => {
  const { spec, part } = await finishedBatch();
  const target = staging.forBatch(spec).resultsStore;
  const ids = await replaceableIds(target, (await staging.forBatch(spec).partIds(part.plan))!, part.code);
  await io().write(part.plan, finishedProviderBatch, (async function* () { yield* ids; })(), { store: target.store, prefix: `${target.prefix}.recover/` });
  const counts = await stageRewrite(target, 1, ids, part.code);
  const manifest = (await readManifest(target))!;
  await writeManifest(target, { ...manifest, committing: { index: 1, ...counts } });
  // Half a commit: the new output is in place, the old errors file still is.
  const results = layout.results(spec.batchId);
  fs.copyFileSync(store.pathOf(`${results}.recover/output.jsonl`), store.pathOf(layout.output(results)));
  await recoverResults(spec, staging.forBatch(spec), io());
  await expectRecovered(spec);
  // And a commit repeated once more changes nothing.
  await commitRewrite(target);
  await expectRecovered(spec);
});
