/**
 * Two hosts that share only Temporal and an S3 store (the versitygw of the global setup): a client with its own
 * data folder, and a worker process with another, started in its own mount namespace with the client's folder
 * hidden under an empty tmpfs (where the machine allows it: `unshare --mount`; else only the separate folders),
 * so it cannot read what the client has on disk. An OpenAI batch split into parts and an Anthropic batch are
 * created by the client, which deletes its input files at once; the worker is SIGKILLed once mid-batch and
 * restarted; the client reads complete results (every custom_id once) through the library and the CLI, and the
 * staged inputs are gone from the bucket once the results are written.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBatch, retrieveBatch, retrieveBatchResults } from '../../src';
import type { AnybatchBatch } from '../../src';
import { closeClientStores } from '../../src/config';
import { S3BlobStore } from '../../src/storage';
import { runCli } from '../support/cli';
import { eventually, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { testS3Config, testS3Env } from '../support/s3';

const WORKER = path.join(__dirname, '..', '..', 'dist', 'worker.js');
const PREFIX = `multi-host-${crypto.randomBytes(4).toString('hex')}`;
const savedEnv = { ...process.env };
/** The key that seals a batch's credentials: hosts that share no folder share it through the environment. */
const SECRET_KEY = crypto.randomBytes(32).toString('base64');

let env: TestEnv;
let clientHome: string;
let workerHome: string;
let store: S3BlobStore;
let worker: ChildProcess | null = null;

/** What both hosts are given: the store and the secret key, nothing else. */
function storageEnv(): Record<string, string> {
  return { ANYBATCH_SECRET_KEY: SECRET_KEY, ...testS3Env(PREFIX) };
}

/** Whether this machine lets us give the worker a mount namespace of its own (root, or user namespaces). */
const canIsolate = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;

function startWorker(): ChildProcess {
  const workerEnv = { ...process.env, ...storageEnv(), TEMPORAL_ADDRESS: env.address, ANYBATCH_TASK_QUEUE: env.taskQueue, ANYBATCH_HOME: workerHome, ANYBATCH_LOG_LEVEL: 'WARN' };
  const node = [process.execPath, WORKER];
  // Inside its namespace the client's folder is an empty tmpfs: the worker sees the store and its own folder only.
  const hide = `mount -t tmpfs anybatch-hidden ${JSON.stringify(clientHome)} && exec "$@"`;
  return canIsolate
    ? spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', hide, 'sh', ...node], { env: workerEnv, stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn(node[0], node.slice(1), { env: workerEnv, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list(prefix)) out.push(e.key);
  return out;
}

beforeAll(async () => {
  // No in-process worker: the worker is the other host.
  env = await startTestEnv({ rate: 100 }, { worker: false });
  clientHome = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-client-host-'));
  workerHome = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-worker-host-'));
  Object.assign(process.env, storageEnv(), { ANYBATCH_HOME: clientHome });
  store = new S3BlobStore({ ...testS3Config(), prefix: PREFIX });
});

afterAll(async () => {
  if (worker) await kill(worker);
  store?.destroy();
  closeClientStores();
  await env?.teardown();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  for (const dir of [clientHome, workerHome]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('client and worker share only Temporal and the store; a worker killed mid-batch loses and duplicates nothing', async () => {
  if (!canIsolate) console.warn('multi-host: unshare --mount is not allowed here; the worker runs with a separate folder only');
  worker = startWorker();
  const common = { ...env.options, apiKey: 'multi-host-key', pollInterval: '300ms', noWait: true } as const;

  const openaiInput = writeChatInput(clientHome, 900, { prefix: 'oa' });
  const openai = await createBatch('openai', openaiInput, '/v1/chat/completions', { ...common, apiBase: env.sandbox.baseUrls.openai, maxRequestsPerPart: 300 });
  const anthropicInput = writeChatInput(clientHome, 400, { prefix: 'an', model: 'claude-sonnet-4-5' });
  const anthropic = await createBatch('anthropic', anthropicInput, '/v1/chat/completions', { ...common, apiBase: env.sandbox.baseUrls.anthropic });
  // The client's copies are gone at once: the store holds the only staged input.
  fs.rmSync(openaiInput);
  fs.rmSync(anthropicInput);
  // Staged in a run folder of the batch's own (src/storage/layout.ts).
  expect(openai.anybatch.input_path).toMatch(new RegExp(`^${store.rootUri()}inputs/${openai.id}/r[0-9a-f]{12}/input\\.jsonl$`));
  const runFolder = openai.anybatch.input_path.slice(store.rootUri().length, -'input.jsonl'.length);
  expect(await keys(`inputs/${openai.id}/`)).toEqual(expect.arrayContaining([`${runFolder}input.jsonl`, `${runFolder}ids.jsonl`]));

  // Killed once both batches are running at the provider, then restarted.
  await eventually(async () => {
    const [a, b] = await Promise.all([retrieveBatch('openai', openai.id, env.options), retrieveBatch('anthropic', anthropic.id, env.options)]);
    for (const x of [a, b]) if (x.anybatch.failure) throw new Error(`batch ${x.id} failed: ${x.anybatch.failure}`);
    return a.anybatch.provider_batches.length === 3 && b.anybatch.provider_batches.length === 1 && a.request_counts!.completed > 0;
  }, 120_000, 100);
  // The three parts went up as byte ranges of the staged input (its plan.json): no part object was written.
  expect((await keys(runFolder)).filter((k) => /part-\d+\.jsonl$/.test(k))).toEqual([]);
  expect(await keys(runFolder)).toContain(`${runFolder}plan.json`);
  await kill(worker);
  worker = startWorker();

  const done = async (provider: 'openai' | 'anthropic', id: string): Promise<AnybatchBatch> =>
    eventually(async () => {
      const b = await retrieveBatch(provider, id, env.options);
      return b.status === 'completed' ? b : null;
    }, 240_000, 300);
  const [a, b] = [await done('openai', openai.id), await done('anthropic', anthropic.id)];
  await kill(worker);
  worker = null;

  // One provider batch per part: the restarted worker found the ones made before the kill.
  expect(env.sandbox.stats().providers.openai?.batchesCreated).toBe(3);
  expect(env.sandbox.stats().providers.anthropic?.batchesCreated).toBe(1);
  expect(a.request_counts).toEqual({ total: 900, completed: 900, failed: 0 });
  expect(b.request_counts).toEqual({ total: 400, completed: 400, failed: 0 });
  expect(a.anybatch.results!.output_uri).toBe(`${store.rootUri()}results/${openai.id}/output.jsonl`);

  // Results through the library, from the store: every custom_id once.
  for (const [provider, batch, prefix, n] of [['openai', a, 'oa', 900], ['anthropic', b, 'an', 400]] as const) {
    const { results } = await retrieveBatchResults(provider, batch.id, { ...env.options, endpoint: '/v1/chat/completions' });
    const ids = results.map((r) => r.custom_id).sort();
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => `${prefix}-${i}`).sort());
    expect(results.every((r) => r.error === null)).toBe(true);
  }

  // And through the CLI on the client host.
  const out = path.join(clientHome, 'out');
  const run = await runCli({ address: env.address, taskQueue: env.taskQueue, home: clientHome }, ['results', openai.id, '--out', out], storageEnv());
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const lines = fs.readFileSync(path.join(out, 'output.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string });
  expect(new Set(lines.map((l) => l.custom_id)).size).toBe(900);

  // The staged inputs (input, ids, parts, adapter state) are deleted once the results are written; results stay.
  expect(await keys(`inputs/${openai.id}`)).toEqual([]);
  expect(await keys(`inputs/${anthropic.id}`)).toEqual([]);
  expect(await keys(`results/${anthropic.id}/`)).toEqual(expect.arrayContaining([`results/${anthropic.id}/output.jsonl`, `results/${anthropic.id}/errors.jsonl`]));
  // Neither host kept a staged copy on its disk: the client staged straight into the store, the worker's scratch is gone.
  expect(fs.existsSync(path.join(clientHome, 'inputs'))).toBe(false);
  expect(fs.existsSync(path.join(workerHome, 'cache', openai.id))).toBe(false);
}, 480_000);
