/**
 * The gemini adapter (src/providers/gemini/adapter.ts) against the sandbox module, without Temporal: idempotent
 * upload and create (found again by displayName), counts read raw, errors classified (auth, not_found,
 * rate_limited with retry-after, unreachable) with messages naming the URL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getAdapter } from '../../src/providers/registry';
import { ProviderError, preparedFileId, type ProviderConnection, type ProviderInput } from '../../src/providers/types';
import { startSandbox, type Sandbox } from '../../src/sandbox';

let sandbox: Sandbox;
let dir: string;
const adapter = getAdapter('gemini');

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 20, cancellingMs: 20, apiKey: 'right' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemini-adapter-'));
});
afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => sandbox.setFaults({}));

const conn = (extra: Partial<ProviderConnection> = {}): ProviderConnection => ({ apiKey: 'right', apiBase: sandbox.baseUrls.gemini, ...extra });

function stage(name: string, n: number, options: Record<string, unknown> = {}): ProviderInput {
  const file = path.join(dir, `${name}.jsonl`);
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ custom_id: `${name}-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gemini-2.5-flash', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: `q${i}` }], max_tokens: 40 } }),
  );
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return {
    path: file,
    requestCount: n,
    bytes: fs.statSync(file).size,
    idempotencyKey: `ab_${name}/0`,
    notBefore: Math.floor(Date.now() / 1000) - 5,
    endpoint: '/v1/chat/completions',
    options,
    workDir: path.join(dir, `${name}-work`),
  };
}

async function untilTerminal(id: string) {
  for (let i = 0; i < 200; i++) {
    const b = await adapter.retrieveBatch(conn(), id);
    if (['completed', 'failed', 'expired', 'cancelled'].includes(b.status)) return b;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('not terminal');
}

async function collect(lines: AsyncIterable<unknown>): Promise<any[]> {
  const out = [];
  for await (const line of lines) out.push(line);
  return out;
}

test('inline: a repeated create finds the first batch by displayName; counts and results come back', async () => {
  const input = stage('inl', 5);
  const prepared = await adapter.prepareInput(conn(), input);
  expect(prepared).toEqual({ kind: 'inline' });
  const request = { input, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null };
  const first = await adapter.createBatch(conn(), request);
  const again = await adapter.createBatch(conn(), request);
  expect(again.id).toBe(first.id);
  expect(sandbox.stats().providers.gemini.batchesCreated).toBe(1);
  const done = await untilTerminal(first.id);
  expect(done).toMatchObject({ status: 'completed', request_counts: { total: 5, completed: 5, failed: 0 }, model: 'models/gemini-2.5-flash' });
  expect(done.completed_at).toBeGreaterThan(0);
  const lines = await collect(adapter.readResults(conn(), done, input));
  expect(lines.map((l) => l.custom_id)).toEqual(['inl-0', 'inl-1', 'inl-2', 'inl-3', 'inl-4']);
  expect(lines[0].response.body.choices[0].message.content).toBe('Sandbox reply to: q0 [system: sys]');
});

test('file mode: one upload however often prepare runs; results streamed from the results file', async () => {
  const input = stage('fil', 4, { maxInlineBytes: 10 });
  const filesBefore = sandbox.stats().providers.gemini.filesCreated;
  const prepared = await adapter.prepareInput(conn(), input);
  expect(prepared).toEqual({ kind: 'file', fileId: expect.stringMatching(/^files\/[a-z0-9]+$/) });
  expect(await adapter.prepareInput(conn(), input)).toEqual(prepared);
  expect(sandbox.stats().providers.gemini.filesCreated).toBe(filesBefore + 1);
  const created = await adapter.createBatch(conn(), { input, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null });
  expect(created.input_file_id).toBe(preparedFileId(prepared));
  const done = await untilTerminal(created.id);
  expect(done.output_file_id).toMatch(/^files\//);
  const lines = await collect(adapter.readResults(conn(), done, input));
  expect(lines.map((l) => l.custom_id).sort()).toEqual(['fil-0', 'fil-1', 'fil-2', 'fil-3']);
  expect(lines.every((l) => l.response.body.object === 'chat.completion')).toBe(true);
});

test('a cut-off results download is a transient error', async () => {
  const input = stage('cut', 30, { maxInlineBytes: 10 });
  const prepared = await adapter.prepareInput(conn(), input);
  const done = await untilTerminal((await adapter.createBatch(conn(), { input, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null })).id);
  sandbox.setFaults({ truncateDownloads: 1 });
  await expect(collect(adapter.readResults(conn(), done, input))).rejects.toMatchObject({ kind: 'transient' });
});

test('cancel of an ended batch answers with its state', async () => {
  const input = stage('end', 1);
  const prepared = await adapter.prepareInput(conn(), input);
  const done = await untilTerminal((await adapter.createBatch(conn(), { input, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null })).id);
  expect((await adapter.cancelBatch(conn(), done.id)).status).toBe('completed');
});

describe('errors are classified', () => {
  const kindOf = async (p: Promise<unknown>) => {
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  };

  test('a wrong key is auth, naming GEMINI_API_KEY', async () => {
    const err = await kindOf(adapter.retrieveBatch(conn({ apiKey: 'wrong' }), 'batches/abc'));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('GEMINI_API_KEY');
    expect(err.message).not.toContain('wrong');
  });

  test('an unknown batch is not_found, naming the URL', async () => {
    const err = await kindOf(adapter.retrieveBatch(conn(), 'batches/nosuch'));
    expect(err.kind).toBe('not_found');
    expect(err.message).toContain('/gemini/v1beta/batches/nosuch');
  });

  test('429 is rate_limited with the retry-after; 500 transient', async () => {
    sandbox.setFaults({ forceStatus: 429, retryAfterSeconds: 3 });
    const limited = await kindOf(adapter.retrieveBatch(conn(), 'batches/abc'));
    expect(limited).toMatchObject({ kind: 'rate_limited', retryAfterMs: 3000, status: 429 });
    sandbox.setFaults({ forceStatus: 503 });
    expect((await kindOf(adapter.retrieveBatch(conn(), 'batches/abc'))).kind).toBe('transient');
  });

  test('403 is permission', async () => {
    sandbox.setFaults({ forceStatus: 403 });
    expect((await kindOf(adapter.retrieveBatch(conn(), 'batches/abc'))).kind).toBe('permission');
  });

  test('nothing listening is unreachable', async () => {
    const err = await kindOf(adapter.retrieveBatch(conn({ apiBase: 'http://127.0.0.1:1' }), 'batches/abc'));
    expect(err.kind).toBe('unreachable');
    expect(err.message).toContain('http://127.0.0.1:1/v1beta/batches/abc');
  });

  test('no key at all is auth before any request', async () => {
    const saved = { g: process.env.GEMINI_API_KEY, o: process.env.GOOGLE_API_KEY };
    delete process.env.GEMINI_API_KEY;
    delete process.env.GOOGLE_API_KEY;
    try {
      expect((await kindOf(adapter.retrieveBatch({ apiBase: sandbox.baseUrls.gemini }, 'batches/abc'))).kind).toBe('auth');
    } finally {
      if (saved.g !== undefined) process.env.GEMINI_API_KEY = saved.g;
      if (saved.o !== undefined) process.env.GOOGLE_API_KEY = saved.o;
    }
  });
});
