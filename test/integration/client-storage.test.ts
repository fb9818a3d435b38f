/**
 * The client side of the blob store, with ANYBATCH_STORAGE=s3://bucket/prefix and the AWS_* settings pointed at
 * the versitygw of the global setup: createBatch stages into the bucket (and fails fast, with a clear
 * StorageError, on a bad endpoint, a missing bucket or refused credentials), resultsDir is refused, results are
 * read from an s3 output_uri through the library and the CLI, and `delete` removes a finished batch's data.
 *
 * The worker half (reading and writing by key) is not needed: finished batches are workflows that no worker
 * runs, started here with a finished batch in their memo, whose results objects the test puts in the bucket.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { createBatch, deleteBatch, iterateBatchResults, batchResultLines, retrieveBatchResults } from '../../src/api';
import type { AnybatchBatch, BatchResultFiles } from '../../src/contract/batch';
import { closeClientStores } from '../../src/config';
import { UsageError } from '../../src/errors';
import type { ResultLine } from '../../src/providers/types';
import { LocalBlobStore, S3BlobStore, StorageError } from '../../src/storage';
import { layout } from '../../src/storage/layout';
import { freePort } from '../../src/temporal/devserver';
import { BATCH_WORKFLOW_TYPE, MEMO_BATCH } from '../../src/contract/messages';
import type { BatchWorkflowInput } from '../../src/workflows/legacy/shared';
import { runCli } from '../support/cli';
import { temporalAddress, writeChatInput } from '../support/env';
import { testS3Config, testS3Env } from '../support/s3';

const BUCKET = () => process.env.ANYBATCH_TEST_S3_BUCKET!;
const PREFIX = `client-${crypto.randomBytes(4).toString('hex')}`;
const STORAGE = () => `s3://${BUCKET()}/${PREFIX}`;
const ROOT = () => `${STORAGE()}/`;

let connection: Connection;
let client: Client;
let home: string;
let store: S3BlobStore;
/** A task queue no worker polls: the workflows started here keep the memo they were given. */
const taskQueue = `client-storage-${crypto.randomBytes(4).toString('hex')}`;
const started: string[] = [];
const savedEnv = { ...process.env };

/** The environment of a client on another host than the worker: the store is all they share. */
function s3ClientEnv(): Record<string, string> {
  return testS3Env(PREFIX);
}

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

beforeAll(async () => {
  connection = await Connection.connect({ address: temporalAddress() });
  client = new Client({ connection });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-client-storage-'));
  setEnv({ ANYBATCH_HOME: home, ...s3ClientEnv() });
  store = new S3BlobStore({ ...testS3Config(), prefix: PREFIX });
});

afterAll(async () => {
  for (const id of started) await client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  await connection?.close();
  store?.destroy();
  closeClientStores();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  fs.rmSync(home, { recursive: true, force: true });
});

const options = () => ({ temporal: { client }, taskQueue });
const newId = () => `ab_cs_${crypto.randomBytes(6).toString('hex')}`;

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function keys(prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(prefix)) out.push(e.key);
  return out.sort();
}

function resultLine(customId: string, ok: boolean): ResultLine {
  return ok
    ? { id: `r-${customId}`, custom_id: customId, response: { status_code: 200, request_id: 'q', body: { id: 'c', object: 'chat.completion', choices: [] } }, error: null }
    : { id: `r-${customId}`, custom_id: customId, response: null, error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' } };
}

const jsonl = (lines: unknown[]) => lines.map((l) => JSON.stringify(l) + '\n').join('');

/** A batch as its workflow's memo holds it. */
function batchObject(id: string, status: AnybatchBatch['status'], anybatch: Partial<AnybatchBatch['anybatch']>): AnybatchBatch {
  return {
    id,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    errors: undefined,
    input_file_id: '',
    completion_window: '24h',
    status,
    created_at: Math.floor(Date.now() / 1000),
    expires_at: Math.floor(Date.now() / 1000) + 86_400,
    request_counts: { total: 3, completed: 2, failed: 1 },
    metadata: null,
    anybatch: {
      provider: 'openai',
      provider_batches: [],
      input_path: `${ROOT()}${layout.input(id)}`,
      results_dir: `${ROOT()}${layout.results(id)}`,
      results: null,
      failure: null,
      warnings: [],
      ...anybatch,
    },
  } as AnybatchBatch;
}

/** The result files of a batch whose results are in the store at `root` (as the worker records them). */
function storeResults(root: string, id: string): BatchResultFiles {
  const output = `${root}${layout.output(layout.results(id))}`;
  const errors = `${root}${layout.errors(layout.results(id))}`;
  return { output_path: output, errors_path: errors, output_uri: output, errors_uri: errors, output_count: 2, errors_count: 1 };
}

/** Starts a workflow no worker runs, holding `batch` in its memo: `loadBatch` reads it as the batch. */
async function recordBatch(batch: AnybatchBatch): Promise<void> {
  await client.workflow.start(BATCH_WORKFLOW_TYPE, { workflowId: batch.id, taskQueue, args: [{}], memo: { [MEMO_BATCH]: batch } });
  started.push(batch.id);
}

/** A finished batch with its staged inputs and results in the bucket. */
async function finishedBatch(id = newId()): Promise<AnybatchBatch> {
  const results = layout.results(id);
  await store.put(layout.input(id), jsonl([{ custom_id: 'a' }]));
  await store.put(layout.inputIds(id), '"a"\n"b"\n"c"\n');
  await store.put(layout.part(id, 0), jsonl([{ custom_id: 'a' }]));
  await store.put(`${layout.work(id, 0)}created.json`, '{}');
  await store.put(layout.output(results), jsonl([resultLine('a', true), resultLine('b', true)]));
  await store.put(layout.errors(results), jsonl([resultLine('c', false)]));
  await store.put(layout.partOutput(results, 0), jsonl([resultLine('a', true)]));
  const batch = batchObject(id, 'completed', { results: storeResults(ROOT(), id) });
  await recordBatch(batch);
  return batch;
}

function cliEnv() {
  return { address: temporalAddress(), taskQueue, home };
}

describe('createBatch stages into the S3 store', () => {
  test('the input and its ids go to the bucket; the batch names their URIs; nothing is staged on local disk', async () => {
    const input = writeChatInput(home, 5);
    const batch = await createBatch('openai', input, '/v1/chat/completions', { ...options(), noWait: true, apiBase: 'http://127.0.0.1:9/v1', apiKey: 'k' });
    started.push(batch.id);
    const id = batch.id;
    // In a run folder of its own (src/storage/layout.ts): input.jsonl, ids.jsonl and the plan of its parts.
    const run = new RegExp(`^inputs/${id}/r[0-9a-f]{12}/input\\.jsonl$`);
    expect(batch.anybatch.input_path.slice(ROOT().length)).toMatch(run);
    const inputKey = batch.anybatch.input_path.slice(ROOT().length);
    const idsKey = inputKey.replace(/input\.jsonl$/, 'ids.jsonl');
    expect(batch.anybatch.results_dir).toBe(`${ROOT()}results/${id}/`);
    expect(await readAll(await store.get(inputKey))).toBe(fs.readFileSync(input, 'utf8'));
    expect(await readAll(await store.get(idsKey))).toBe(Array.from({ length: 5 }, (_, i) => `"req-${i}"\n`).join(''));
    const planKey = inputKey.replace(/input\.jsonl$/, 'plan.json');
    expect(await keys(`inputs/${id}`)).toEqual([idsKey, inputKey, planKey]);
    // One part: the whole staged input, cut while it was written.
    const plan = JSON.parse(await readAll(await store.get(planKey))) as { parts: number[][]; requestCount: number; bytes: number };
    expect(plan).toMatchObject({ requestCount: 5, bytes: fs.statSync(input).size, parts: [[5, 0, fs.statSync(input).size]] });
    expect(fs.existsSync(path.join(home, 'inputs'))).toBe(false);
    // The workflow carries the store and the keys, for the worker.
    const history = await client.workflow.getHandle(id).fetchHistory();
    const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const { spec } = JSON.parse(Buffer.from(payload.data!).toString('utf8')) as BatchWorkflowInput;
    expect(spec.storage).toEqual({ uri: ROOT(), inputKey, resultsPrefix: `results/${id}/` });
    expect(spec.input.path).toBe(`${ROOT()}${inputKey}`);
    // A chosen id of a batch that is running is refused before anything is staged (src/batches/reuse.ts).
    await expect(createBatch('openai', input, '/v1/chat/completions', { ...options(), noWait: true, batchId: id })).rejects.toThrow(`batchId "${id}" is in use`);
    expect(await keys(`inputs/${id}`)).toEqual([idsKey, inputKey, planKey]);
    expect(await readAll(await store.get(inputKey))).toBe(fs.readFileSync(input, 'utf8'));
  });

  test('a chosen id whose workflow exists (running, not a batch\'s) is refused, and nothing is staged', async () => {
    const input = writeChatInput(home, 2);
    const batchId = newId();
    await client.workflow.start(BATCH_WORKFLOW_TYPE, { workflowId: batchId, taskQueue, args: [{}] });
    started.push(batchId);
    await expect(createBatch('openai', input, '/v1/chat/completions', { ...options(), noWait: true, batchId })).rejects.toThrow(UsageError);
    expect(await keys(`inputs/${batchId}`)).toEqual([]);
  });

  test.each([
    ['a generated id', undefined],
    ['a chosen id', 'chosen'],
  ])('when the workflow cannot start, the staged objects are deleted (%s)', async (_, chosen) => {
    const input = writeChatInput(home, 2);
    // Temporal refuses the start, after the input was staged.
    const refusing = {
      workflow: {
        getHandle: (id: string) => client.workflow.getHandle(id),
        start: async () => {
          throw new Error('start refused by the test');
        },
      },
    } as unknown as Client;
    const before = await keys('inputs/');
    const batchId = chosen ? newId() : undefined;
    await expect(createBatch('openai', input, '/v1/chat/completions', { temporal: { client: refusing }, taskQueue, noWait: true, ...(batchId ? { batchId } : {}) })).rejects.toThrow('start refused by the test');
    expect(await keys('inputs/')).toEqual(before);
  });

  test('resultsDir is a UsageError that says where results live and how to read them', async () => {
    const input = writeChatInput(home, 1);
    const err = await createBatch('openai', input, '/v1/chat/completions', { ...options(), resultsDir: path.join(home, 'mine') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain('results live in the store');
    expect((err as Error).message).toContain(`S3 bucket "${BUCKET()}"`);
    expect((err as Error).message).toContain('anybatch results ID');
    expect((err as Error).message).toContain('retrieveBatchResults');
  });
});

describe('an unusable store fails createBatch fast, before Temporal is asked, with a clear StorageError', () => {
  // Temporal at a port nothing listens on: reaching it would be a TemporalUnavailableError instead.
  const deadTemporal = async () => ({ temporal: { address: `127.0.0.1:${await freePort()}` }, taskQueue });
  afterEach(() => setEnv(s3ClientEnv()));

  test.each<[string, () => Promise<Record<string, string>>, string, (host: string) => string]>([
    ['an unreachable endpoint', async () => ({ AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}` }), 'storage_unreachable', () => 'Cannot reach the S3 endpoint 127.0.0.1:'],
    ['a missing bucket', async () => ({ ANYBATCH_STORAGE: 's3://anybatch-no-such-bucket/x' }), 'storage_bucket_missing', (host) => `The S3 bucket "anybatch-no-such-bucket" does not exist at ${host}`],
    ['a wrong secret key', async () => ({ AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' }), 'storage_access_denied', (host) => `The S3 endpoint ${host} refused the credentials`],
    ['an unknown access key', async () => ({ AWS_ACCESS_KEY_ID: 'UNKNOWNKEYID' }), 'storage_access_denied', (host) => `The S3 endpoint ${host} refused the credentials`],
    ['a malformed ANYBATCH_STORAGE', async () => ({ ANYBATCH_STORAGE: 's3://' }), 'storage_config', () => 'ANYBATCH_STORAGE="s3://": expected s3://bucket'],
    ['an unsupported scheme', async () => ({ ANYBATCH_STORAGE: 'gs://bucket/x' }), 'storage_config', () => 'unsupported scheme'],
  ])('%s', async (_, vars, code, message) => {
    setEnv(await vars());
    const input = writeChatInput(home, 2);
    const startedAt = Date.now();
    const err = await createBatch('openai', input, '/v1/chat/completions', await deadTemporal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ code });
    expect((err as Error).message).toContain(message(new URL(process.env.ANYBATCH_TEST_S3_ENDPOINT!).host));
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    for (const secret of [process.env.ANYBATCH_TEST_S3_SECRET_ACCESS_KEY!, 'wrong-secret-value']) expect((err as Error).message).not.toContain(secret);
  }, 30_000);

  test('the CLI says the same on stderr, exit status 1', async () => {
    const input = writeChatInput(home, 2);
    const run = await runCli({ ...cliEnv(), address: `127.0.0.1:${await freePort()}` }, ['create', input, '--provider', 'openai', '--endpoint', '/v1/chat/completions'], {
      ...s3ClientEnv(),
      ANYBATCH_STORAGE: 's3://anybatch-no-such-bucket/x',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('anybatch: The S3 bucket "anybatch-no-such-bucket" does not exist at');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('results are read where they are: through the store for an s3 output_uri', () => {
  test('retrieveBatchResults, iterateBatchResults and batchResultLines stream them from the bucket', async () => {
    const batch = await finishedBatch();
    const { results } = await retrieveBatchResults('openai', batch.id, options());
    expect(results.map((r) => [r.custom_id, r.error?.code ?? null])).toEqual([
      ['a', null],
      ['b', null],
      ['c', 'batch_expired'],
    ]);
    const items: string[] = [];
    for await (const item of iterateBatchResults(null, batch.id, { ...options(), endpoint: '/v1/chat/completions' })) items.push(item.custom_id);
    expect(items).toEqual(['a', 'b', 'c']);
    const lines: ResultLine[] = [];
    for await (const line of batchResultLines(null, batch.id, options())) lines.push(line);
    expect(lines).toEqual([resultLine('a', true), resultLine('b', true), resultLine('c', false)]);
  });

  test('anybatch results prints them, and --out copies the files', async () => {
    const batch = await finishedBatch();
    const run = await runCli(cliEnv(), ['results', batch.id], s3ClientEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as ResultLine).custom_id)).toEqual(['a', 'b', 'c']);
    const out = path.join(home, `out-${batch.id}`);
    const copied = await runCli(cliEnv(), ['results', batch.id, '--out', out], s3ClientEnv());
    expect(copied.code).toBe(0);
    expect(copied.stdout).toBe(`${path.join(out, 'output.jsonl')}\n${path.join(out, 'errors.jsonl')}\n`);
    expect(fs.readFileSync(path.join(out, 'errors.jsonl'), 'utf8')).toBe(jsonl([resultLine('c', false)]));
  });

  test('results in another store are a clear error naming both stores and the setting to use', async () => {
    const id = newId();
    const other = `s3://other-bucket/team-a/`;
    await recordBatch(batchObject(id, 'completed', { input_path: `${other}${layout.input(id)}`, results_dir: `${other}${layout.results(id)}`, results: storeResults(other, id) }));
    const err = await retrieveBatchResults('openai', id, options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    const message = (err as Error).message;
    expect(message).toContain(`${other}results/${id}/output.jsonl (the results of batch ${id}) is not in this client's store`);
    expect(message).toContain(`S3 bucket "${BUCKET()}" (prefix ${PREFIX}/)`);
    expect(message).toContain('set ANYBATCH_STORAGE=s3://other-bucket/team-a');
    // And the CLI: exit 1, the same message.
    const run = await runCli(cliEnv(), ['results', id], s3ClientEnv());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('set ANYBATCH_STORAGE=s3://other-bucket/team-a');
    // Nor can this client delete them.
    const refused = await deleteBatch(null, id, options()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StorageError);
    expect((refused as Error).message).toContain(`${other}inputs/${id}.jsonl (the staged input of batch ${id}) is not in this client's store`);
  });

  test('results that are gone say so', async () => {
    const id = newId();
    await recordBatch(batchObject(id, 'completed', { results: storeResults(ROOT(), id) }));
    await expect(retrieveBatchResults('openai', id, options())).rejects.toThrow(`The results of batch ${id} are not at ${ROOT()}results/${id}/output.jsonl: they were deleted`);
  });

  test('a batch finished before the blob store (paths, no URIs) is read from disk, as before', async () => {
    const id = newId();
    const dir = path.join(home, 'old-results', id);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'output.jsonl'), jsonl([resultLine('a', true)]));
    fs.writeFileSync(path.join(dir, 'errors.jsonl'), '');
    const files = { output_path: path.join(dir, 'output.jsonl'), errors_path: path.join(dir, 'errors.jsonl'), output_count: 1, errors_count: 0 };
    await recordBatch(batchObject(id, 'completed', { input_path: path.join(home, 'inputs', `${id}.jsonl`), results_dir: dir, results: files }));
    const { results } = await retrieveBatchResults(null, id, options());
    expect(results.map((r) => r.custom_id)).toEqual(['a']);
  });
});

describe('delete removes a finished batch’s data', () => {
  test('deleteBatch removes its staged inputs and results from the bucket, and nothing else', async () => {
    const batch = await finishedBatch();
    // Another batch whose id starts with this one's: untouched.
    const neighbour = await finishedBatch(`${batch.id}x`);
    const before = await keys();
    const result = await deleteBatch(null, batch.id, options());
    const mine = before.filter((k) => k.startsWith(`inputs/${batch.id}.`) || k.startsWith(`results/${batch.id}/`));
    expect(mine).toHaveLength(7);
    expect(result.removed.map((r) => r.location).sort()).toEqual(mine.map((k) => `${ROOT()}${k}`).sort());
    expect(result.bytes).toBe(result.removed.reduce((n, r) => n + r.bytes, 0));
    expect(result.bytes).toBeGreaterThan(0);
    expect(await keys()).toEqual(before.filter((k) => !mine.includes(k)));
    expect((await keys(`results/${neighbour.id}/`)).length).toBe(3);
    // Its results are gone, and said so; a second delete finds nothing.
    await expect(retrieveBatchResults(null, batch.id, options())).rejects.toThrow('they were deleted');
    expect((await deleteBatch('openai', batch.id, options())).removed).toEqual([]);
  });

  test('anybatch delete prints what it removed; its help says how to set a lifecycle rule instead', async () => {
    const batch = await finishedBatch();
    const run = await runCli(cliEnv(), ['delete', batch.id], s3ClientEnv());
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines).toContain(`removed ${ROOT()}results/${batch.id}/output.jsonl (${Buffer.byteLength(jsonl([resultLine('a', true), resultLine('b', true)]))} bytes)`);
    expect(run.stderr).toMatch(new RegExp(`^Removed 7 objects \\(.+\\) of batch ${batch.id}\\.\n$`));
    expect(await keys(`results/${batch.id}/`)).toEqual([]);
    const again = await runCli(cliEnv(), ['delete', batch.id], s3ClientEnv());
    expect(again.code).toBe(0);
    expect(again.stderr).toBe(`Nothing left to remove for batch ${batch.id}.\n`);
    const help = await runCli(cliEnv(), ['delete', '--help']);
    expect(help.stdout).toMatch(/lifecycle rule that expires the prefix results\/ .*after N days/);
  });

  test('a batch that is not finished is refused: cancel it first', async () => {
    const id = newId();
    await store.put(layout.input(id), jsonl([{ custom_id: 'a' }]));
    await recordBatch(batchObject(id, 'in_progress', {}));
    const err = await deleteBatch(null, id, options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`Batch ${id} is in_progress: only a finished batch can be deleted. Cancel it first (anybatch cancel ${id} --wait), then delete it.`);
    expect(await keys(`inputs/${id}.`)).toEqual([layout.input(id)]);
    const run = await runCli(cliEnv(), ['delete', id], s3ClientEnv());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Cancel it first');
  });

  test('a batch finished before the blob store, in another folder than this client\'s store: refused; with that folder as the store, removed', async () => {
    const id = newId();
    const oldHome = fs.mkdtempSync(path.join(home, 'old-home-'));
    const local = new LocalBlobStore({ root: oldHome });
    for (const key of [layout.input(id), layout.inputIds(id), layout.part(id, 0), `${layout.work(id, 0)}map.json`, layout.output(layout.results(id)), layout.errors(layout.results(id)), layout.partOutput(layout.results(id), 0)]) {
      await local.put(key, 'x\n');
    }
    await local.put(layout.input(`${id}x`), 'x\n'); // another batch's
    const resultsDir = path.join(oldHome, 'results', id);
    const files = { output_path: path.join(resultsDir, 'output.jsonl'), errors_path: path.join(resultsDir, 'errors.jsonl'), output_count: 1, errors_count: 0 };
    await recordBatch(batchObject(id, 'completed', { input_path: path.join(oldHome, 'inputs', `${id}.jsonl`), results_dir: resultsDir, results: files }));
    // This client's store is the bucket: it deletes nothing a record names elsewhere.
    const refused = await deleteBatch(null, id, options()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StorageError);
    expect((refused as Error).message).toContain(`${path.join(oldHome, 'inputs', `${id}.jsonl`)} (the staged input of batch ${id}) is not in this client's store`);
    expect((refused as Error).message).toContain(`ANYBATCH_STORAGE=${oldHome}`);
    expect(fs.readdirSync(path.join(oldHome, 'inputs')).sort()).toEqual([`${id}.ids.jsonl`, `${id}.jsonl`, `${id}.part-0.jsonl`, `${id}.work`, `${id}x.jsonl`]);
    // A client whose store is that folder removes them.
    setEnv({ ANYBATCH_STORAGE: oldHome });
    try {
      const result = await deleteBatch(null, id, options());
      expect(result.removed).toHaveLength(7);
      expect(result.removed.map((r) => r.location)).toContain(path.join(oldHome, 'inputs', `${id}.work`, '0', 'map.json'));
    } finally {
      setEnv(s3ClientEnv());
    }
    expect(fs.readdirSync(path.join(oldHome, 'inputs'))).toEqual([`${id}x.jsonl`]);
    expect(fs.readdirSync(path.join(oldHome, 'results'))).toEqual([]);
  });

  test('a caller’s own results folder: only the files anybatch wrote there are removed', async () => {
    const id = newId();
    const mine = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-mine-'));
    try {
      fs.writeFileSync(path.join(mine, 'keep.txt'), 'mine');
      fs.writeFileSync(path.join(mine, 'output.jsonl'), 'x\n');
      fs.writeFileSync(path.join(mine, 'errors.jsonl'), '');
      fs.mkdirSync(path.join(mine, '.parts'));
      fs.writeFileSync(path.join(mine, '.parts', '0.output.jsonl'), 'x\n');
      const files = { output_path: path.join(mine, 'output.jsonl'), errors_path: path.join(mine, 'errors.jsonl'), output_count: 1, errors_count: 0 };
      await recordBatch(batchObject(id, 'completed', { input_path: `${ROOT()}inputs/${id}/r0123456789ab/input.jsonl`, results_dir: mine, results: files }));
      const result = await deleteBatch(null, id, options());
      expect(result.removed.map((r) => path.basename(r.location)).sort()).toEqual(['0.output.jsonl', 'errors.jsonl', 'output.jsonl']);
      expect(fs.readdirSync(mine)).toEqual(['keep.txt']);
    } finally {
      fs.rmSync(mine, { recursive: true, force: true });
    }
  });
});
