/**
 * When things go wrong, each failure class the worker can meet, end to end on a real Temporal dev server and the
 * sandbox: how the batch ends, how fast it surfaces (a generous bound, not a benchmark), what its message says,
 * that its result files account for every request, and that the workflow closes the way the batch did.
 */
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { BatchFailedError, createBatch, retrieveBatch, retrieveBatchResults } from '../../src';
import type { AnybatchBatch } from '../../src';
import type { ResultLine } from '../../src/providers/types';
import { freePort } from '../../src/temporal/devserver';
import { eventually, readJsonl, startTestEnv, writeChatInput } from '../support/env';
import { recordHistory } from '../support/histories';
import type { TestEnv } from '../support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => {
  await env?.teardown();
});
afterEach(async () => {
  env.sandbox.setFaults({});
  if (!env.worker) await env.startWorker();
});

function opts(extra: Record<string, unknown> = {}) {
  return { ...env.options, apiBase: env.apiBase, apiKey: 'test-key', pollInterval: '200ms', retryTimeout: '3s', ...extra };
}

async function untilTerminal(id: string, timeoutMs = 90_000): Promise<AnybatchBatch> {
  return eventually(async () => {
    const b = await retrieveBatch('openai', id, env.options);
    return ['completed', 'failed', 'expired', 'cancelled'].includes(b.status) ? b : null;
  }, timeoutMs, 100);
}

/** Every input id exactly once across the two files; returns the error lines. */
function accountFor(batch: AnybatchBatch, n: number): { output: ResultLine[]; errors: ResultLine[] } {
  const files = batch.anybatch.results!;
  expect(files).toBeTruthy();
  const output = readJsonl<ResultLine>(files.output_path);
  const errors = readJsonl<ResultLine>(files.errors_path);
  expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual(Array.from({ length: n }, (_, i) => `req-${i}`).sort());
  return { output, errors };
}

/** The workflow's close status and, for a failed one, its failure type and the `Batch` in its details. */
async function closed(id: string): Promise<{ status: string; type?: string; message?: string; batch?: AnybatchBatch }> {
  const handle = env.client.workflow.getHandle(id);
  const status = (await handle.describe()).status.name;
  try {
    await handle.result();
    return { status };
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure) return { status, type: cause.type ?? undefined, message: cause.message, batch: cause.details?.[0] as AnybatchBatch };
    return { status, message: (cause ?? (err as Error)).message };
  }
}

/** Creates a batch that is expected to fail before the provider accepts it; returns the failure, the batch and the time. */
async function failingCreate(n: number, extra: Record<string, unknown>) {
  const file = writeChatInput(env.home, n);
  const started = Date.now();
  const error = await createBatch('openai', file, '/v1/chat/completions', opts(extra)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BatchFailedError);
  const failed = error as BatchFailedError;
  const batch = await untilTerminal(failed.batchId);
  return { error: failed, batch, ms: Date.now() - started };
}

test('an unreachable provider fails the batch after the retry bound, naming the URL and the cause', async () => {
  const port = await freePort();
  const apiBase = `http://127.0.0.1:${port}/v1`;
  const { error, batch, ms } = await failingCreate(3, { apiBase });
  expect(ms).toBeLessThan(60_000);
  expect(batch.status).toBe('failed');
  expect(error.message).toContain(`127.0.0.1:${port}`);
  expect(error.message).toMatch(/ECONNREFUSED|connection refused/);
  expect(error.message).toMatch(/gave up after \d+ attempts/);
  const { output, errors } = accountFor(batch, 3);
  expect(output).toHaveLength(0);
  expect(new Set(errors.map((l) => l.error?.code))).toEqual(new Set(['provider_unreachable']));
  const end = await closed(batch.id);
  expect(end.status).toBe('FAILED');
  expect(end.type).toBe('BatchFailed');
  expect(end.batch?.status).toBe('failed');
  expect(end.batch?.anybatch.results?.errors_count).toBe(3);
  await recordHistory(env.client, batch.id, 'failed-unreachable');
});

test('while a step is retried, the batch says which, how often and why', async () => {
  const port = await freePort();
  const file = writeChatInput(env.home, 2);
  const batch = await createBatch('openai', file, '/v1/chat/completions', opts({ apiBase: `http://127.0.0.1:${port}/v1`, retryTimeout: '8s', noWait: true }));
  const retrying = await eventually(async () => (await retrieveBatch('openai', batch.id, env.options)).anybatch.retrying, 30_000);
  expect(retrying.step).toBe('upload');
  expect(retrying.attempts).toBeGreaterThanOrEqual(1);
  expect(retrying.error).toContain(`127.0.0.1:${port}`);
  expect(retrying.next_at).toEqual(expect.any(Number));
  const final = await untilTerminal(batch.id);
  expect(final.status).toBe('failed');
  expect(final.anybatch.retrying ?? null).toBeNull();
});

test('a refused API key fails at once and says how to pass one', async () => {
  const sandbox = env.sandbox;
  const { startSandbox } = await import('../../src/sandbox');
  const strict = await startSandbox({ apiKey: 'the-right-key', validationMs: 50 });
  try {
    const { error, batch, ms } = await failingCreate(2, { apiBase: `${strict.url}/v1`, apiKey: 'a-wrong-key', retryTimeout: '5m' });
    expect(ms).toBeLessThan(20_000);
    expect(error.message).toContain('401');
    expect(error.message).toMatch(/apiKey|--api-key/);
    expect(error.message).not.toContain('a-wrong-key');
    const { errors } = accountFor(batch, 2);
    expect(errors.every((l) => l.error?.code === 'provider_auth')).toBe(true);
    expect((await closed(batch.id)).status).toBe('FAILED');
  } finally {
    await strict.close();
    expect(sandbox).toBe(env.sandbox);
  }
});

test('a missing permission (403) fails at once', async () => {
  env.sandbox.setFaults({ forceStatus: 403 });
  const { error, batch, ms } = await failingCreate(2, { retryTimeout: '5m' });
  expect(ms).toBeLessThan(20_000);
  expect(error.message).toContain('403');
  const { errors } = accountFor(batch, 2);
  expect(errors.every((l) => l.error?.code === 'provider_permission')).toBe(true);
});

test('another provider 4xx fails at once; a 5xx is retried up to the bound', async () => {
  env.sandbox.setFaults({ forceStatus: 400 });
  const refused = await failingCreate(2, { retryTimeout: '5m' });
  expect(refused.ms).toBeLessThan(20_000);
  expect(accountFor(refused.batch, 2).errors.every((l) => l.error?.code === 'provider_invalid_request')).toBe(true);

  env.sandbox.setFaults({ rate500: 1 });
  const overloaded = await failingCreate(2, { retryTimeout: '3s' });
  expect(overloaded.ms).toBeGreaterThanOrEqual(3_000);
  expect(overloaded.ms).toBeLessThan(60_000);
  expect(overloaded.error.message).toContain('500');
  expect(accountFor(overloaded.batch, 2).errors.every((l) => l.error?.code === 'provider_transient')).toBe(true);
});

test('an unknown model fails the batch at the provider, every request accounted for', async () => {
  env.sandbox.setFaults({ models: ['gpt-4o-mini'] });
  const file = writeChatInput(env.home, 3, { model: 'gpt-no-such-model' });
  const started = Date.now();
  const batch = await createBatch('openai', file, '/v1/chat/completions', opts());
  const final = await untilTerminal(batch.id);
  expect(Date.now() - started).toBeLessThan(30_000);
  expect(final.status).toBe('failed');
  expect(final.errors?.data?.[0]?.code).toBe('model_not_found');
  const { errors } = accountFor(final, 3);
  expect(errors.every((l) => l.error?.code === 'batch_failed' && /gpt-no-such-model/.test(l.error.message))).toBe(true);
  const end = await closed(final.id);
  expect(end.status).toBe('FAILED');
  expect(end.message).toContain('model');
  // The results call says it failed, and why; it never says the batch is not finished.
  const err = await retrieveBatchResults('openai', final.id, env.options).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BatchFailedError);
  expect((err as Error).message).toContain('failed');
  expect((err as Error).message).not.toMatch(/once it is terminal/);
  expect((err as BatchFailedError).batch?.anybatch.results?.errors_count).toBe(3);
});

test('a TLS certificate the worker refuses fails at once, naming the URL', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => res.end('{}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const { error, batch, ms } = await failingCreate(2, { apiBase: `https://127.0.0.1:${port}/v1`, retryTimeout: '5m' });
    expect(ms).toBeLessThan(20_000);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toMatch(/certificate|TLS|CERT/i);
    expect(accountFor(batch, 2).errors.every((l) => l.error?.code === 'provider_bad_endpoint')).toBe(true);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('staged data and credentials the worker cannot use', () => {
  /** Starts a batch with no worker running, lets `breakIt` damage what the worker needs, then starts the worker. */
  async function broken(n: number, breakIt: (batch: AnybatchBatch) => void, extra: Record<string, unknown> = {}) {
    await env.stopWorker();
    const file = writeChatInput(env.home, n);
    const batch = await createBatch('openai', file, '/v1/chat/completions', opts({ noWait: true, retryTimeout: '5m', ...extra }));
    breakIt(batch);
    const started = Date.now();
    await env.startWorker();
    const final = await untilTerminal(batch.id);
    return { final, ms: Date.now() - started };
  }

  test('a staged input that is gone fails at once, and the ids recorded at validation account for every request', async () => {
    const { final, ms } = await broken(4, (b) => fs.rmSync(b.anybatch.input_path));
    expect(ms).toBeLessThan(20_000);
    expect(final.status).toBe('failed');
    expect(final.anybatch.failure).toContain(final.anybatch.input_path);
    expect(final.anybatch.failure).toMatch(/ENOENT/);
    expect(final.anybatch.failure).toContain('ANYBATCH_HOME');
    const { errors } = accountFor(final, 4);
    expect(errors.every((l) => l.error?.code === 'storage_unreadable')).toBe(true);
    expect((await closed(final.id)).type).toBe('BatchFailed');
  });

  test('a staged input that cannot be read fails at once', async () => {
    const { final, ms } = await broken(3, (b) => {
      fs.rmSync(b.anybatch.input_path);
      fs.mkdirSync(b.anybatch.input_path);
    });
    expect(ms).toBeLessThan(20_000);
    expect(`${final.anybatch.failure}`).toMatch(/EISDIR/);
    expect(accountFor(final, 3).errors.every((l) => l.error?.code === 'storage_unreadable')).toBe(true);
  });

  test('credentials the worker cannot unseal fail at once, and the results are still written', async () => {
    const before = process.env.ANYBATCH_SECRET_KEY;
    process.env.ANYBATCH_SECRET_KEY = Buffer.alloc(32, 1).toString('base64');
    try {
      const { final, ms } = await broken(3, () => {
        process.env.ANYBATCH_SECRET_KEY = Buffer.alloc(32, 2).toString('base64');
      });
      expect(ms).toBeLessThan(20_000);
      expect(final.status).toBe('failed');
      expect(final.anybatch.failure).toContain('ANYBATCH_SECRET_KEY');
      expect(accountFor(final, 3).errors.every((l) => l.error?.code === 'bad_credentials')).toBe(true);
    } finally {
      if (before === undefined) delete process.env.ANYBATCH_SECRET_KEY;
      else process.env.ANYBATCH_SECRET_KEY = before;
    }
  });
});

test('a full disk for the results is retried, shown, and the batch completes once there is room', async () => {
  // A small tmpfs of the test's own (the test runs as root in CI, where mounting is allowed).
  const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]);
  try {
    const filler = path.join(mountPoint, 'filler');
    execFileSync('sh', ['-c', `dd if=/dev/zero of=${filler} bs=4k 2>/dev/null || true`]);
    const file = writeChatInput(env.home, 20);
    const batch = await createBatch('openai', file, '/v1/chat/completions', opts({ resultsDir: path.join(mountPoint, 'results') }));
    const retrying = await eventually(async () => {
      const b = await retrieveBatch('openai', batch.id, env.options);
      return b.anybatch.retrying?.error.includes('ENOSPC') ? b.anybatch.retrying : null;
    }, 60_000);
    expect(['download', 'merge']).toContain(retrying.step);
    expect(retrying.error).toContain(mountPoint);
    fs.rmSync(filler);
    const final = await untilTerminal(batch.id, 120_000);
    expect(final.status).toBe('completed');
    expect(accountFor(final, 20).output).toHaveLength(20);
  } finally {
    execFileSync('umount', ['-l', mountPoint]);
    fs.rmSync(mountPoint, { recursive: true, force: true });
  }
});

describe('the workflow ends the way the batch did, with user metadata the Web UI shows', () => {
  test('completed: a completed run, with a summary, details and current details', async () => {
    const file = writeChatInput(env.home, 3);
    const batch = await createBatch('openai', file, '/v1/chat/completions', opts({ metadata: { job: 'nightly' } }));
    const final = await untilTerminal(batch.id);
    expect(final.status).toBe('completed');
    expect((await closed(batch.id)).status).toBe('COMPLETED');
    const description = await env.client.workflow.getHandle(batch.id).describe();
    expect(await description.staticSummary()).toBe('openai · gpt-4o-mini · 3 requests · /v1/chat/completions');
    const details = await description.staticDetails();
    expect(details).toContain('| provider | openai |');
    expect(details).toContain('| metadata.job | nightly |');
    expect(details).toContain(path.resolve(file));
  });

  test('current details show progress while the batch runs', async () => {
    env.sandbox.setFaults({ slowMs: 0 });
    const file = writeChatInput(env.home, 400);
    const batch = await createBatch('openai', file, '/v1/chat/completions', opts());
    const handle = env.client.workflow.getHandle(batch.id);
    const running = await eventually(async () => {
      const meta = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
      return meta.currentDetails && /\*\*in_progress\*\*/.test(meta.currentDetails) ? meta.currentDetails : null;
    }, 30_000, 50);
    expect(running).toMatch(/of 400 requests done/);
    expect(running).toContain(batch.anybatch.provider_batches[0].id);
    await untilTerminal(batch.id);
  });

  test('cancelled through the API or by the cancel signal: a cancelled run', async () => {
    const { cancelBatch } = await import('../../src');
    for (const how of ['api', 'signal'] as const) {
      const file = writeChatInput(env.home, 2000);
      const batch = await createBatch('openai', file, '/v1/chat/completions', opts());
      if (how === 'api') await cancelBatch('openai', batch.id, env.options);
      else await env.client.workflow.getHandle(batch.id).signal('cancel');
      const final = await untilTerminal(batch.id);
      expect(final.status).toBe('cancelled');
      const end = await eventually(async () => {
        const c = await closed(batch.id);
        return c.status === 'RUNNING' ? null : c;
      }, 30_000);
      expect(`${how}: ${end.status}`).toBe(`${how}: CANCELLED`);
      accountFor(final, 2000);
      if (how === 'signal') await recordHistory(env.client, batch.id, 'cancelled-by-signal');
    }
  });

  test('expired: a failed run of type BatchExpired carrying the batch', async () => {
    env.sandbox.setFaults({ expireAfterSeconds: 1 });
    const file = writeChatInput(env.home, 3000);
    const batch = await createBatch('openai', file, '/v1/chat/completions', opts());
    const final = await untilTerminal(batch.id);
    expect(final.status).toBe('expired');
    const end = await closed(batch.id);
    expect(end.status).toBe('FAILED');
    expect(end.type).toBe('BatchExpired');
    expect(end.batch?.status).toBe('expired');
    accountFor(final, 3000);
  });
});
