/**
 * Issue 17 §1, what a batch may touch (unit: no servers; the worker's activities run in a mock activity
 * environment over a local folder store):
 * - a batch's storage keys are exact: finishing or deleting batch `nightly` never touches the staged data of
 *   `nightly.retry` (ids may hold dots), in either key layout (the flat one of batches staged before run folders,
 *   `inputs/<id>.jsonl`, and today's `inputs/<id>/<run>/`);
 * - batch ids are checked once, by one function: `.`, `..`, ids starting with `.` and anything that is not a safe
 *   key segment are a UsageError at createBatch naming the id and the rule, and refused by the worker;
 * - the worker reads and writes only inside its store: a spec without a store, naming keys or paths outside its
 *   batch's own, or a results folder inside the store or the worker's home, is refused at its first activity with a
 *   non-retryable error naming the batch and the path; forged part and result paths never reach a file;
 * - `anybatch delete` (deleteBatchData) deletes only keys of the batch inside the client's store, and in a caller's
 *   own results folder only the files anybatch writes there; never a path a batch record names outside them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../src/activities';
import { WorkerFiles } from '../../src/storage/worker-files';
import { classifyFailure } from '../../src/activities/failures';
import { createBatch, deleteBatchData } from '../../src/api';
import type { AnybatchBatch } from '../../src/contract/batch';
import type { BatchSpec, PartPlan, PartResults } from '../../src/contract/spec';
import { UsageError } from '../../src/errors';
import { writePartResults } from '../../src/results/writer';
import { LocalBlobStore } from '../../src/storage';
import { layout, newStagedKeys } from '../../src/storage/layout';

let tmp: string;
let home: string;
let store: LocalBlobStore;
const saved = { ...process.env };

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-boundaries-'));
  home = path.join(tmp, 'home');
  store = new LocalBlobStore(home);
  process.env.ANYBATCH_HOME = home;
  delete process.env.ANYBATCH_STORAGE;
  delete process.env.ANYBATCH_KEEP_INPUTS;
});
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const env = () => new MockActivityEnvironment({ scheduledTimestampMs: Date.now() } as never, { logger: new DefaultLogger('ERROR') });

async function failureOf(run: () => Promise<unknown>): Promise<ApplicationFailure> {
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('nothing was thrown');
}

const line = (id: string) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [] } });

async function keysOf(prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(prefix)) out.push(e.key);
  return out.sort();
}

/**
 * A batch staged as createBatch staged it until now (the flat layout: `inputs/<id>.jsonl`, its ids, a split part, a
 * work folder), as its workflow's spec names it.
 */
async function stageFlat(batchId: string, n = 2): Promise<BatchSpec> {
  const ids = Array.from({ length: n }, (_, i) => `${batchId}-${i}`);
  const text = ids.map(line).join('\n') + '\n';
  await store.put(layout.input(batchId), text);
  await store.put(layout.inputIds(batchId), ids.map((id) => JSON.stringify(id)).join('\n') + '\n');
  await store.put(layout.part(batchId, 0), line(ids[0]) + '\n');
  await store.put(`${layout.work(batchId, 0)}create.json`, '{}');
  return specFor(batchId, { inputKey: layout.input(batchId), n, bytes: Buffer.byteLength(text) });
}

/** A batch staged as createBatch stages it now: in a run folder of its own. */
async function stageRun(batchId: string, n = 2): Promise<BatchSpec> {
  const keys = newStagedKeys(batchId);
  const ids = Array.from({ length: n }, (_, i) => `${batchId}-${i}`);
  const text = ids.map(line).join('\n') + '\n';
  await store.put(keys.input, text);
  await store.put(keys.ids, ids.map((id) => JSON.stringify(id)).join('\n') + '\n');
  await store.put(keys.part(0), line(ids[0]) + '\n');
  await store.put(`${keys.work(0)}create.json`, '{}');
  return specFor(batchId, { inputKey: keys.input, n, bytes: Buffer.byteLength(text) });
}

function specFor(batchId: string, o: { inputKey: string; n: number; bytes: number; resultsDir?: string; storage?: boolean }): BatchSpec {
  return {
    batchId,
    provider: 'openai',
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: null,
    createdAt: Math.floor(Date.now() / 1000),
    input: { path: path.join(home, ...o.inputKey.split('/')), requestCount: o.n, bytes: o.bytes, model: 'm' },
    resultsDir: o.resultsDir ?? path.join(home, 'results', batchId),
    ...(o.storage === false ? {} : { storage: { uri: store.rootUri(), inputKey: o.inputKey, resultsPrefix: o.resultsDir ? null : layout.results(batchId) } }),
    pollIntervalMs: 1000,
    connection: { apiBase: null, sealed: null },
    maxRequestsPerPart: null,
    providerOptions: {},
    searchAttributes: false,
  } as BatchSpec;
}

/** A finished batch as its workflow's memo records it (what `anybatch delete` reads). */
function record(id: string, anybatch: Partial<AnybatchBatch['anybatch']>): AnybatchBatch {
  return {
    id,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: '',
    completion_window: '24h',
    status: 'completed',
    created_at: Math.floor(Date.now() / 1000),
    request_counts: { total: 1, completed: 1, failed: 0 },
    metadata: null,
    anybatch: {
      provider: 'openai',
      provider_batches: [],
      input_path: path.join(home, 'inputs', `${id}.jsonl`),
      results_dir: path.join(home, 'results', id),
      results: null,
      failure: null,
      warnings: [],
      ...anybatch,
    },
  } as AnybatchBatch;
}

describe('exact keys: a batch never touches the staged data of a batch whose id starts with its own', () => {
  test('the worker\'s clean-up of batch "nightly" leaves batch "nightly.retry" whole', async () => {
    const nightly = await stageFlat('nightly');
    await stageFlat('nightly.retry');
    const theirs = await keysOf('inputs/nightly.retry');
    expect(theirs).toHaveLength(4);
    const staged = new WorkerFiles({ store, home }).forBatch(nightly);
    expect(await staged.cleanUp({})).toEqual([]);
    expect(await keysOf('inputs/')).toEqual(theirs);
  });

  test('in run folders too: the clean-up of "nightly" removes its run folder, and only it', async () => {
    const nightly = await stageRun('nightly');
    await stageRun('nightly.retry');
    await stageRun('nightly'); // another run of the id (a createBatch that gave up after staging): not this run's
    const before = await keysOf('inputs/');
    const mine = before.filter((k) => k.startsWith(nightly.storage!.inputKey.replace(/input\.jsonl$/, '')));
    expect(mine).toHaveLength(4);
    expect(await new WorkerFiles({ store, home }).forBatch(nightly).cleanUp({})).toEqual([]);
    expect(await keysOf('inputs/')).toEqual(before.filter((k) => !mine.includes(k)));
    expect(fs.existsSync(path.join(home, ...nightly.storage!.inputKey.split('/').slice(0, -1)))).toBe(false);
  });

  test('anybatch delete of "nightly" leaves "nightly.retry" whole, and a batch named "nightly.work" (its run folder) too', async () => {
    await stageFlat('nightly');
    await stageFlat('nightly.retry');
    await stageRun('nightly.work');
    await stageRun('nightly.retry');
    const others = (await keysOf('inputs/')).filter((k) => k.startsWith('inputs/nightly.retry') || /^inputs\/nightly\.work\/r/.test(k));
    expect(others).toHaveLength(12);
    await store.put(layout.output(layout.results('nightly')), '');
    await store.put(layout.output(layout.results('nightly.retry')), '');
    const result = await deleteBatchData(record('nightly', {}));
    expect(result.removed.map((r) => path.relative(home, r.location)).sort()).toEqual(
      ['inputs/nightly.ids.jsonl', 'inputs/nightly.jsonl', 'inputs/nightly.part-0.jsonl', 'inputs/nightly.work/0/create.json', 'results/nightly/output.jsonl'].map((k) => path.join(...k.split('/'))),
    );
    expect(await keysOf('inputs/')).toEqual(others);
    expect(await keysOf('results/')).toEqual(['results/nightly.retry/output.jsonl']);
  });

  test.each(['nightly.ids', 'nightly.part-0', 'nightly.work'])(
    'anybatch delete of batch %j (a run folder) never touches the flat keys of batch "nightly" staged before run folders',
    async (id) => {
      await stageFlat('nightly');
      const flat = await keysOf('inputs/');
      const spec = await stageRun(id);
      const result = await deleteBatchData(record(id, { input_path: spec.input.path }));
      expect(result.removed).toHaveLength(4);
      expect(await keysOf('inputs/')).toEqual(flat);
    },
  );
});

describe('batch ids are checked once, in one place', () => {
  const deadTemporal = { address: '127.0.0.1:1', connectTimeoutMs: 300 };

  test.each(['.', '..', '.hidden', '..x', 'a/b', '../x', 'a b', '', 'x'.repeat(201), 'ab\u0000'])('createBatch refuses batchId %j with a UsageError naming it and the rule', async (batchId) => {
    const input = path.join(tmp, 'in.jsonl');
    fs.writeFileSync(input, line('a') + '\n');
    const err = await createBatch('openai', input, '/v1/chat/completions', { batchId, apiKey: 'k', temporal: deadTemporal }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(`batchId ${JSON.stringify(batchId)}`);
    expect((err as Error).message).toContain('letters, digits, "_", "-" and "."');
    expect((err as Error).message).toContain('not start with "."');
    // Nothing was staged.
    expect(fs.existsSync(path.join(home, 'inputs'))).toBe(false);
  });

  test.each(['.', '..', '.hidden'])('the worker refuses a workflow of batch id %j at its first activity, non-retryable', async (batchId) => {
    const text = line('a') + '\n';
    const inputKey = `inputs/${batchId}.jsonl`;
    await store.put(inputKey, text);
    const spec = specFor(batchId, { inputKey, n: 1, bytes: text.length });
    const failure = await failureOf(() => env().run(createActivities({ store, home }).planParts, spec));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('storage_refused');
    expect(failure.message).toContain(JSON.stringify(batchId));
  });
});

describe('the worker reads and writes only inside its store', () => {
  test('a spec without a store, naming a file outside the worker\'s home, is refused at planParts: the file is not read', async () => {
    const secret = path.join(tmp, 'secret.key');
    fs.writeFileSync(secret, JSON.stringify({ custom_id: 'leak', method: 'POST', url: '/v1/chat/completions', body: { model: 'm' } }) + '\n');
    const spec: BatchSpec = { ...specFor('ab_legacy', { inputKey: layout.input('ab_legacy'), n: 1, bytes: 10, storage: false }), input: { path: secret, requestCount: 1, bytes: 10, model: null } };
    const failure = await failureOf(() => env().run(createActivities({ store, home }).planParts, spec));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('storage_refused');
    expect(failure.message).toContain('ab_legacy');
    expect(failure.message).toContain(secret);
    expect(fs.existsSync(path.join(tmp, 'secret.part-0.jsonl'))).toBe(false);
  });

  test('a spec without a store, at the worker\'s own ANYBATCH_HOME layout (a batch staged before the store), still runs', async () => {
    const spec = { ...(await stageFlat('ab_before_store', 3)), storage: undefined };
    const parts = (await env().run(createActivities({ store: new LocalBlobStore(path.join(tmp, 'elsewhere')), home }).planParts, { ...spec, maxRequestsPerPart: 2 })) as PartPlan[];
    expect(parts.map((p) => p.path)).toEqual([0, 1].map((i) => store.pathOf(layout.part('ab_before_store', i))));
    // Its parts are its own keys; a part naming another file is refused.
    const staged = new WorkerFiles({ store, home }).forBatch(spec);
    expect(staged.partFiles(parts[1]).workDir).toBe(store.pathOf(layout.work('ab_before_store', 1).slice(0, -1)));
    const forged = thrown(() => staged.partFiles({ ...parts[1], path: path.join(tmp, 'secret.key') }));
    expect(classifyFailure(forged)).toMatchObject({ type: 'storage_refused', nonRetryable: true });
    expect(forged.message).toContain(path.join(tmp, 'secret.key'));
  });

  test.each<[string, (spec: BatchSpec) => BatchSpec, () => string]>([
    ['another batch\'s input key', (s) => ({ ...s, storage: { ...s.storage!, inputKey: layout.input('ab_other') } }), () => 'inputs/ab_other.jsonl'],
    ['a key outside inputs/', (s) => ({ ...s, storage: { ...s.storage!, inputKey: 'secret.key' } }), () => 'secret.key'],
    ['another batch\'s results prefix', (s) => ({ ...s, storage: { ...s.storage!, resultsPrefix: layout.results('ab_other') } }), () => 'results/ab_other/'],
    ['a results folder inside the store', (s) => ({ ...s, resultsDir: path.join(home, 'inputs'), storage: { ...s.storage!, resultsPrefix: null } }), () => path.join(home, 'inputs')],
    ['a relative results folder', (s) => ({ ...s, resultsDir: 'out', storage: { ...s.storage!, resultsPrefix: null } }), () => '"out"'],
    ['a part index that is not an integer', (s) => s, () => '../../x'],
  ])('a spec naming %s is refused at once, non-retryable, naming the batch and the key or path', async (_, forge, named) => {
    await store.put(layout.input('ab_other'), line('theirs') + '\n');
    const spec = forge(await stageFlat('ab_mine'));
    const acts = createActivities({ store, home });
    const failure =
      named() === '../../x'
        ? await failureOf(() => env().run(acts.uploadPart, spec, { index: '../../x' as unknown as number, path: spec.input.path, requestCount: 2, bytes: 10 }))
        : await failureOf(() => env().run(acts.planParts, spec));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('storage_refused');
    expect(failure.message).toContain('ab_mine');
    expect(failure.message).toContain(named());
  });

  test('a caller\'s own results folder (absolute, outside the store and the home) is used, and only anybatch\'s files are written there', async () => {
    const mine = path.join(tmp, 'mine');
    const spec = await stageFlat('ab_own_results');
    const own = { ...spec, resultsDir: mine, storage: { ...spec.storage!, resultsPrefix: null } };
    expect(new WorkerFiles({ store, home }).forBatch(own).results).toBe(mine);
  });

  test('part results naming files outside the results folder are never read into the merged files', async () => {
    const spec = await stageFlat('ab_merge');
    const secret = path.join(tmp, 'secret.key');
    fs.writeFileSync(secret, '{"stolen":true}\n');
    const results = store.pathOf(layout.results('ab_merge').slice(0, -1));
    const part: PartPlan = { index: 0, path: spec.input.path, requestCount: 2, bytes: spec.input.bytes };
    const real = await writePartResults({ batchId: 'ab_merge', resultsDir: results, part, ids: (async function* () { yield* ['ab_merge-0', 'ab_merge-1']; })(), lines: null, outcome: { code: 'x', message: 'y' } });
    const forged: PartResults = { ...real, outputPath: secret, errorsPath: secret };
    const files = (await env().run(createActivities({ store, home }).mergeResults, spec, [forged])) as { output_path: string; errors_path: string };
    expect(fs.readFileSync(files.output_path, 'utf8')).not.toContain('stolen');
    expect(fs.readFileSync(files.errors_path, 'utf8')).not.toContain('stolen');
    expect(fs.readFileSync(files.errors_path, 'utf8').trimEnd().split('\n')).toHaveLength(2);
    expect(fs.readFileSync(secret, 'utf8')).toBe('{"stolen":true}\n');
  });
});

describe('anybatch delete deletes only inside the client\'s store', () => {
  test('a record naming an input file outside the store: refused, and the file stays', async () => {
    const victim = path.join(tmp, 'victim');
    fs.mkdirSync(path.join(victim, 'inputs'), { recursive: true });
    const files = [path.join(victim, 'notes.jsonl'), path.join(victim, 'notes.ids.jsonl'), path.join(victim, 'inputs', 'ab_x.jsonl')];
    for (const f of files) fs.writeFileSync(f, 'precious\n');
    for (const input of [files[0], files[2]]) {
      const err = await deleteBatchData(record('ab_x', { input_path: input })).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(input);
      expect((err as Error).message).toContain("not in this client's store");
    }
    for (const f of files) expect(fs.readFileSync(f, 'utf8')).toBe('precious\n');
  });

  test('a caller\'s own results folder: only output.jsonl, errors.jsonl and anybatch\'s own files go, whatever else the record names', async () => {
    const mine = path.join(tmp, 'mine');
    fs.mkdirSync(path.join(mine, '.parts'), { recursive: true });
    for (const f of ['output.jsonl', 'errors.jsonl', 'keep.txt', 'precious.jsonl', '.parts/0.output.jsonl']) fs.writeFileSync(path.join(mine, f), 'x\n');
    const precious = path.join(mine, 'precious.jsonl');
    const elsewhere = path.join(tmp, 'elsewhere.jsonl');
    fs.writeFileSync(elsewhere, 'x\n');
    const files = { output_path: precious, errors_path: elsewhere, output_count: 1, errors_count: 0 };
    const result = await deleteBatchData(record('ab_y', { results_dir: mine, results: files }));
    expect(result.removed.map((r) => path.relative(mine, r.location)).sort()).toEqual([path.join('.parts', '0.output.jsonl'), 'errors.jsonl', 'output.jsonl']);
    expect(fs.readdirSync(mine).sort()).toEqual(['keep.txt', 'precious.jsonl']);
    expect(fs.existsSync(elsewhere)).toBe(true);
  });

  test('a record whose results folder is inside the store but not its own is refused', async () => {
    await store.put(layout.output(layout.results('ab_other')), 'theirs\n');
    const err = await deleteBatchData(record('ab_z', { results_dir: store.pathOf('results/ab_other') })).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(store.pathOf('results/ab_other'));
    expect(await keysOf('results/')).toEqual(['results/ab_other/output.jsonl']);
  });

  test('a record with an id that is not a safe key segment is refused', async () => {
    const err = await deleteBatchData(record('..', {})).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain('".."');
  });
});
