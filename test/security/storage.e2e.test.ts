/**
 * Issue 17 §1 and §3, end to end on the run's Temporal dev server, the sandbox, an in-process worker (local folder
 * store: ANYBATCH_HOME) and the run's versitygw:
 * - batch `<x>` finishing, then deleted, never touches the staged data of batch `<x>.retry`;
 * - a chosen batch id is reused only once its earlier batch is deleted: a finished batch with that id (its results in
 *   the store, or in a caller's own results folder) or a running one is refused with a UsageError; once deleted, the
 *   id runs again with a fresh run folder (its own work folder, so a fresh run nonce): a corrected input of the same
 *   size runs the corrected prompts and nothing of the earlier run is adopted at the provider;
 * - a workflow started by hand on the task queue whose spec has no store and names a file outside the worker's home,
 *   or a results folder inside the store, fails at once (`storage_refused`, non-retryable, naming the path) and
 *   nothing reaches the provider;
 * - S3: a put aborted while a part upload hangs leaves no incomplete multipart upload; so does a part the server
 *   refuses.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { createBatch, deleteBatch, retrieveBatch, retrieveBatchResults } from '../../src';
import type { AnybatchBatch } from '../../src';
import { BATCH_WORKFLOW_TYPE } from '../../src/contract/messages';
import type { BatchJobInput } from '../../src/contract/part';
import type { BatchSpec } from '../../src/contract/spec';
import { UsageError } from '../../src/errors';
import { LocalBlobStore, S3BlobStore } from '../../src/storage';
import { eventually, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { testS3Config } from '../support/s3';

let env: TestEnv;
const started: string[] = [];
/** A task queue no worker polls: batches created there stay staged. */
const idleQueue = `idle-${crypto.randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => {
  for (const id of started) await env.client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  await env?.teardown();
});

const hex = () => crypto.randomBytes(4).toString('hex');
const store = () => new LocalBlobStore(env.home);
const run = (extra: Record<string, unknown> = {}) => ({ ...env.options, apiBase: env.apiBase, apiKey: 'test-key', pollInterval: '200ms', ...extra });

async function untilTerminal(id: string, timeoutMs = 60_000): Promise<AnybatchBatch> {
  return eventually(async () => {
    const b = await retrieveBatch('openai', id, env.options);
    return ['completed', 'failed', 'expired', 'cancelled'].includes(b.status) ? b : null;
  }, timeoutMs, 100);
}

async function specOf(id: string): Promise<BatchSpec> {
  const history = await env.client.workflow.getHandle(id).fetchHistory();
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  return (JSON.parse(Buffer.from(payload.data!).toString('utf8')) as BatchJobInput).spec;
}

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store().list(prefix)) out.push(e.key);
  return out.sort();
}

describe('exact keys', () => {
  test('batch <x> finishing and then deleted leaves the staged data of batch <x>.retry whole', async () => {
    const x = `nightly-${hex()}`;
    const retry = await createBatch('openai', writeChatInput(env.home, 3), '/v1/chat/completions', run({ batchId: `${x}.retry`, taskQueue: idleQueue, noWait: true }));
    started.push(retry.id);
    const theirs = await keys(`inputs/${x}.retry`);
    expect(theirs.length).toBeGreaterThanOrEqual(2);

    const mine = await createBatch('openai', writeChatInput(env.home, 3), '/v1/chat/completions', run({ batchId: x }));
    expect((await untilTerminal(mine.id)).status).toBe('completed');
    expect(await keys(`inputs/${x}`)).toEqual(theirs);
    await deleteBatch(null, x, env.options);
    expect(await keys(`inputs/${x}`)).toEqual(theirs);
    expect(await keys(`results/${x}`)).toEqual([]);
  });
});

describe('a chosen batch id is reused only once its earlier batch is deleted', () => {
  test('finished: refused until deleted; then a fresh run folder, the corrected prompts, nothing of the first run adopted', async () => {
    const id = `reuse-${hex()}`;
    const first = await createBatch('openai', writeChatInput(env.home, 4, { prefix: 'old' }), '/v1/chat/completions', run({ batchId: id }));
    expect((await untilTerminal(first.id)).status).toBe('completed');
    const firstSpec = await specOf(id);

    const corrected = writeChatInput(env.home, 4, { prefix: 'new' });
    const refused = await createBatch('openai', corrected, '/v1/chat/completions', run({ batchId: id })).then(() => new Error('not refused'), (e: unknown) => e as Error);
    expect(refused).toBeInstanceOf(UsageError);
    expect(refused.message).toContain(`batchId "${id}"`);
    expect(refused.message).toContain(`anybatch delete ${id}`);

    await deleteBatch(null, id, env.options);
    const before = env.sandbox.stats();
    const second = await createBatch('openai', corrected, '/v1/chat/completions', run({ batchId: id }));
    expect((await untilTerminal(second.id)).status).toBe('completed');
    const secondSpec = await specOf(id);
    expect(secondSpec.storage!.inputKey).not.toBe(firstSpec.storage!.inputKey);
    expect(secondSpec.createdAt).toBeGreaterThanOrEqual(firstSpec.createdAt);
    const after = env.sandbox.stats();
    expect(after.filesCreated - before.filesCreated).toBe(1);
    expect(after.batchesCreated - before.batchesCreated).toBe(1);
    const { results } = await retrieveBatchResults('openai', id, env.options);
    expect(results.map((r) => r.custom_id).sort()).toEqual(['new-0', 'new-1', 'new-2', 'new-3']);
  });

  test('running: refused, naming the running batch', async () => {
    const id = `busy-${hex()}`;
    const staged = await createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', run({ batchId: id, taskQueue: idleQueue, noWait: true }));
    started.push(staged.id);
    const inputKey = (await specOf(id)).storage!.inputKey;
    const err = await createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', run({ batchId: id, taskQueue: idleQueue, noWait: true })).then(() => new Error('not refused'), (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain(`batchId "${id}"`);
    expect(err.message).toContain('is running');
    expect(await keys(`inputs/${id}`)).toEqual(expect.arrayContaining([inputKey]));
    expect((await specOf(id)).storage!.inputKey).toBe(inputKey);
  });

  test("finished with its results in a caller's own folder: refused while they are there; deleted, the id runs again", async () => {
    const id = `own-${hex()}`;
    const mine = fs.mkdtempSync(path.join(path.dirname(env.home), 'anybatch-own-results-'));
    try {
      const first = await createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', run({ batchId: id, resultsDir: mine }));
      expect((await untilTerminal(first.id)).status).toBe('completed');
      expect(fs.existsSync(path.join(mine, 'output.jsonl'))).toBe(true);
      const err = await createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', run({ batchId: id, resultsDir: mine })).then(() => new Error('not refused'), (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toContain(mine);
      await deleteBatch(null, id, env.options);
      const again = await createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', run({ batchId: id, resultsDir: mine }));
      expect((await untilTerminal(again.id)).status).toBe('completed');
    } finally {
      fs.rmSync(mine, { recursive: true, force: true });
    }
  });
});

describe('the worker refuses a workflow started by hand that names paths outside its store', () => {
  let template: BatchSpec;
  beforeAll(async () => {
    const b = await createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', run());
    await untilTerminal(b.id);
    template = await specOf(b.id);
  });

  /** Starts a workflow of `spec` on the worker's task queue, as anyone who may start workflows there can. */
  async function startByHand(spec: BatchSpec): Promise<void> {
    await env.client.workflow.start(BATCH_WORKFLOW_TYPE, { workflowId: spec.batchId, taskQueue: env.taskQueue, args: [{ spec } satisfies BatchJobInput] });
    started.push(spec.batchId);
  }

  /** The first activity the workflow ran, once it failed: its name and failure (from the workflow's history). */
  async function firstActivityFailure(id: string): Promise<{ activity: string; type: string; nonRetryable: boolean; message: string; otherActivities: string[] }> {
    return eventually(async () => {
      const history = await env.client.workflow.getHandle(id).fetchHistory();
      const scheduled = new Map<string, string>();
      for (const e of history.events ?? []) {
        const a = e.activityTaskScheduledEventAttributes;
        if (a) scheduled.set(String(e.eventId), a.activityType?.name ?? '');
      }
      const failed = (history.events ?? []).find((e) => e.activityTaskFailedEventAttributes);
      if (!failed) return null;
      const a = failed.activityTaskFailedEventAttributes!;
      const info = a.failure?.applicationFailureInfo;
      return {
        activity: scheduled.get(String(a.scheduledEventId)) ?? '?',
        type: info?.type ?? '',
        nonRetryable: info?.nonRetryable ?? false,
        message: a.failure?.message ?? '',
        otherActivities: [...scheduled.values()],
      };
    }, 30_000, 100);
  }

  test('no store, and an input file outside the worker\'s home: fails at once, nothing sent', async () => {
    const secret = path.join(path.dirname(env.home), `anybatch-secret-${hex()}.jsonl`);
    fs.copyFileSync(writeChatInput(env.home, 2, { prefix: 'secret' }), secret);
    try {
      // The worker's own key may go to the sandbox: only the staging stands between the file and the provider.
      process.env.OPENAI_API_KEY = 'sk-worker-own-key';
      process.env.ANYBATCH_ALLOWED_API_BASES = env.apiBase;
      const before = env.sandbox.stats();
      const batchId = `ab_hand_${hex()}`;
      const connection = { apiBase: env.apiBase, sealed: null };
      await startByHand({ ...template, batchId, connection, storage: undefined, input: { ...template.input, path: secret }, resultsDir: path.join(env.home, 'results', batchId) });
      const refused = await firstActivityFailure(batchId);
      expect(refused).toMatchObject({ activity: 'planParts', type: 'storage_refused', nonRetryable: true });
      expect(refused.message).toContain(batchId);
      expect(refused.message).toContain(secret);
      // Whatever the workflow does next (it accounts for the requests it cannot read), nothing reaches the provider.
      await new Promise((r) => setTimeout(r, 2000));
      expect(refused.otherActivities).not.toContain('uploadPart');
      const after = env.sandbox.stats();
      expect([after.filesCreated, after.batchesCreated, after.requests]).toEqual([before.filesCreated, before.batchesCreated, before.requests]);
      expect(fs.existsSync(secret.replace(/\.jsonl$/, '.part-0.jsonl'))).toBe(false);
    } finally {
      fs.rmSync(secret, { force: true });
      delete process.env.OPENAI_API_KEY;
      delete process.env.ANYBATCH_ALLOWED_API_BASES;
    }
  });

  test("a results folder inside the store (another batch's results): fails at once, nothing written there", async () => {
    const victim = path.join(env.home, 'results', `ab_victim_${hex()}`);
    fs.mkdirSync(victim, { recursive: true });
    fs.writeFileSync(path.join(victim, 'output.jsonl'), 'theirs\n');
    // A batch staged by createBatch (on a queue no worker polls), its workflow then replaced by one started by hand.
    const b = await createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', run({ taskQueue: idleQueue, noWait: true }));
    const staged = await specOf(b.id);
    await env.client.workflow.getHandle(b.id).terminate('replaced by hand');
    const before = env.sandbox.stats();
    await startByHand({ ...staged, resultsDir: victim, storage: { ...staged.storage!, resultsPrefix: null } });
    const refused = await firstActivityFailure(b.id);
    expect(refused).toMatchObject({ activity: 'planParts', type: 'storage_refused', nonRetryable: true });
    expect(refused.message).toContain(victim);
    await new Promise((r) => setTimeout(r, 2000));
    expect(fs.readdirSync(victim)).toEqual(['output.jsonl']);
    expect(fs.readFileSync(path.join(victim, 'output.jsonl'), 'utf8')).toBe('theirs\n');
    const after = env.sandbox.stats();
    expect([after.filesCreated, after.batchesCreated]).toEqual([before.filesCreated, before.batchesCreated]);
  });
});

describe('S3: incomplete multipart uploads are aborted', () => {
  const MiB = 1024 * 1024;
  let s3: S3BlobStore;
  beforeAll(() => {
    s3 = new S3BlobStore({ ...testS3Config(), prefix: `security-${hex()}`, partSize: 5 * MiB, queueSize: 1 });
  });
  afterAll(() => s3.destroy());

  async function uploadsOf(key: string): Promise<unknown[]> {
    const out = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${s3.prefix}/${key}` }));
    return out.Uploads ?? [];
  }

  const body = (parts: number) =>
    Readable.from(
      (async function* () {
        for (let i = 0; i < parts; i++) yield crypto.randomBytes(5 * MiB);
      })(),
    );

  test('a put aborted while a part upload hangs leaves no upload behind', async () => {
    let release!: () => void;
    const hang = new Promise<void>((resolve) => (release = resolve));
    const controller = new AbortController();
    const name = `hang-${hex()}`;
    s3.client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { PartNumber?: number };
        if (context.commandName === 'UploadPartCommand' && input.PartNumber === 2) {
          controller.abort(new Error('given up'));
          await hang;
        }
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      const err = await s3.put('mp/hung', body(4), { signal: controller.signal }).then(() => new Error('not refused'), (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect(await s3.head('mp/hung')).toBeNull();
      expect(await uploadsOf('mp/hung')).toEqual([]);
    } finally {
      s3.client.middlewareStack.remove(name);
      release();
    }
  }, 30_000);

  test('a part the server refuses leaves no upload behind', async () => {
    const name = `refuse-${hex()}`;
    s3.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand' && (args.input as { PartNumber?: number }).PartNumber === 2) {
          throw Object.assign(new Error('refused by the test'), { name: 'InvalidRequest', $metadata: { httpStatusCode: 400 } });
        }
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      await expect(s3.put('mp/refused', body(3))).rejects.toThrow();
      expect(await s3.head('mp/refused')).toBeNull();
      expect(await uploadsOf('mp/refused')).toEqual([]);
    } finally {
      s3.client.middlewareStack.remove(name);
    }
  }, 30_000);
});
