/**
 * Together end to end: the Together adapter (src/providers/together: the `together-ai` client for JSON calls, its
 * own redirect upload) against the sandbox's together module at `/together/v1`, on the run's Temporal server: the
 * standard cases of test/support/provider-suite.ts (public API and CLI), and what is Together's own: no request
 * counts while running (only `progress`, exact counts once merged), custom_ids over its 64 characters (remapped and
 * mapped back), the idempotency
 * key in the uploaded file's name (a retried upload or create finds the earlier file and job), the create
 * response's warning in the worker's log, and the redirect flow's failures (never the key, never the presigned
 * URL's query).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { cancelBatch, createBatch, retrieveBatch } from '../../src';
import type { AnybatchBatch, CreateBatchOptions, ResultLine } from '../../src';
import { getAdapter } from '../../src/providers/registry';
import { providerInfo } from '../../src/providers/definition';
import { together } from '../../src/providers/together';
import { TogetherAdapter } from '../../src/providers/together/adapter';
import { ProviderError, type ProviderInput } from '../../src/providers/types';
import { eventually, readJsonl, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { accountFor } from '../support/batches';
import { providerSuite } from '../support/provider-suite';

/** A model the sandbox (like Together) discounts for batch: no create warning. */
const MODEL = 'meta-llama/Llama-3.3-70B-Instruct-Turbo';
const progressOf = (b: AnybatchBatch) => b.anybatch.provider_batches[0]?.progress;

const suite = providerSuite('together', {
  model: MODEL,
  // Together reports no counts while running: a batch has got somewhere once its job shows progress.
  started: (b) => (progressOf(b) ?? 0) > 0,
  validationFailure: { status: 'failed' },
  // Together's window is 24h and cannot be changed.
  refusedWindow: '48h',
  happyPath: {
    check: ({ done }) => {
      expect(done.model).toBe(MODEL);
      expect(done.anybatch.provider_batches.every((b) => b.progress === 100)).toBe(true);
    },
  },
});

let env: TestEnv;
beforeAll(() => {
  env = suite.env();
});
const input = (n: number, prefix = 'req', model = MODEL) => writeChatInput(env.home, n, { prefix, model });
const baseUrl = () => env.sandbox.baseUrls.together;
const KEY = 'together-test-key-0123456789';
const opts = (extra: CreateBatchOptions<'together'> = {}): CreateBatchOptions<'together'> => suite.opts({ apiKey: KEY, ...extra });
const stats = () => env.sandbox.stats().providers.together;
const created = () => suite.created();
const untilTerminal = (id: string, timeoutMs?: number) => suite.untilTerminal(id, timeoutMs);

/** A part as the activities hand it to the adapter. */
function partInput(file: string, key: string): ProviderInput {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  return {
    path: file,
    requestCount: lines.length,
    bytes: fs.statSync(file).size,
    idempotencyKey: key,
    notBefore: Math.floor(Date.now() / 1000) - 5,
    endpoint: '/v1/chat/completions',
    options: {},
    workDir: path.join(env.home, 'work', key.replace(/\W/g, '_')),
  };
}

describe("together's own: counts, custom_ids", () => {
  test('while running only progress is shown (no invented counts); per-request errors keep their status', async () => {
    const file = input(600, 'pr');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    lines[7].body.sandbox_error = 429;
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const batch = await createBatch('together', file, '/v1/chat/completions', opts());
    const running = await eventually(async () => {
      const b = await retrieveBatch('together', batch.id, env.options);
      const p = progressOf(b);
      return p !== undefined && p > 0 && p < 100 ? b : null;
    }, 30_000, 50);
    expect(running.status).toBe('in_progress');
    expect(running.request_counts).toEqual({ total: 600, completed: 0, failed: 0 });
    const done = await untilTerminal(batch.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 600, completed: 599, failed: 1 });
    const { errors } = accountFor(done, 600, 'pr');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ custom_id: 'pr-7', response: { status_code: 429, body: { error: { message: expect.stringContaining('sandbox_error=429') } } } });
  });

  test("custom_ids over Together's 64 characters are the user's: sent as stand-ins, every result back under its own id", async () => {
    const file = path.join(env.home, 'long-id.jsonl');
    const ids = ['short', `id-${'x'.repeat(70)}`, 'é'.repeat(65), `id-${'x'.repeat(70)}-2`];
    const line = (id: string, i: number) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [{ role: 'user', content: `Question number ${i}` }] } });
    fs.writeFileSync(file, ids.map(line).join('\n') + '\n');
    const before = created();
    const done = await untilTerminal((await createBatch('together', file, '/v1/chat/completions', opts())).id);
    expect(done.status).toBe('completed');
    expect(created()).toBe(before + 1);
    expect(done.request_counts).toEqual({ total: 4, completed: 4, failed: 0 });
    const output = readJsonl<ResultLine>(done.anybatch.results!.output_path);
    expect(readJsonl<ResultLine>(done.anybatch.results!.errors_path)).toEqual([]);
    expect(output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    for (const [i, id] of ids.entries()) {
      expect(output.find((l) => l.custom_id === id)!.response!.body).toMatchObject({ choices: [{ message: { content: `Sandbox reply to: Question number ${i}` } }] });
    }
  });
});

describe("together's own: idempotency, the create warning, the upload flow's failures", () => {
  test('the same part prepared and created twice finds the earlier upload (by its key-named file) and the earlier job', async () => {
    const adapter = getAdapter('together');
    const conn = { apiKey: KEY, apiBase: baseUrl() };
    const part = partInput(input(3, 'idem'), `ab_idem${Date.now()}/0`);
    const files = stats().filesCreated;
    const first = await adapter.prepareInput(conn, part);
    expect(stats().filesCreated).toBe(files + 1);
    const second = await adapter.prepareInput(conn, part);
    expect(second).toEqual(first);
    expect(stats().filesCreated).toBe(files + 1);
    // Another part's key is another file.
    const other = await adapter.prepareInput(conn, { ...part, idempotencyKey: `${part.idempotencyKey}x`, workDir: `${part.workDir}-x` });
    expect(other).not.toEqual(first);

    const before = created();
    const request = { input: part, prepared: first, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null };
    const job = await adapter.createBatch(conn, request);
    const again = await adapter.createBatch(conn, request);
    expect(again.id).toBe(job.id);
    expect(created()).toBe(before + 1);
    expect(job).toMatchObject({ status: 'validating', input_file_id: (first as { fileId: string }).fileId, progress: 0 });
    expect(job).not.toHaveProperty('request_counts');

    // At Together the file is named by the key (filename-safe), not by a local path.
    const list = (await (await fetch(`${baseUrl()}/files`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { data: Array<{ id: string; filename: string }> };
    expect(list.data.find((f) => f.id === (first as { fileId: string }).fileId)?.filename).toMatch(/^anybatch-ab_idem\d+_0-[0-9a-f]{10}\.jsonl$/);
  });

  test("the create response's warning goes to the worker's log once, and the batch runs on", async () => {
    const warnings: Array<[string, Record<string, unknown>]> = [];
    const adapter = new TogetherAdapter(together.capabilities, providerInfo(together), (message, meta) => warnings.push([message, meta]));
    const conn = { apiKey: KEY, apiBase: baseUrl() };
    const part = partInput(input(2, 'warn', 'Qwen/Qwen3-235B-A22B'), `ab_warn${Date.now()}/0`);
    const prepared = await adapter.prepareInput(conn, part);
    const request = { input: part, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null };
    const job = await adapter.createBatch(conn, request);
    await adapter.createBatch(conn, request); // finds the job: no second warning
    expect(warnings).toEqual([[`Together created batch ${job.id} with a warning: Model 'Qwen/Qwen3-235B-A22B' is not discounted for batch inference; this batch runs at standard serverless rates.`, expect.objectContaining({ providerBatchId: job.id })]]);

    // Through the worker: the warning is one WARN line of its log.
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(String(chunk));
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    });
    try {
      const done = await untilTerminal((await createBatch('together', input(4, 'req', 'Qwen/Qwen3-235B-A22B'), '/v1/chat/completions', opts())).id);
      expect(done.status).toBe('completed');
      accountFor(done, 4);
      const lines = written.join('').split('\n').filter((l) => l.includes('with a warning: Model'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/\[WARN\] Together created batch \S+ with a warning: Model 'Qwen\/Qwen3-235B-A22B' is not discounted/);
    } finally {
      spy.mockRestore();
    }
  });

  /** A stand-in for Together's upload endpoints, answering each step as `answer` says. */
  async function stub(answer: (req: http.IncomingMessage, res: http.ServerResponse, url: string) => void) {
    const seen: Array<{ method: string; url: string; authorization?: string; length?: string; bytes: number }> = [];
    const server = http.createServer((req, res) => {
      let bytes = 0;
      req.on('data', (d: Buffer) => (bytes += d.length));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, length: req.headers['content-length'], bytes });
        answer(req, res, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  const fresh = () => new TogetherAdapter(together.capabilities, providerInfo(together), () => undefined);
  const emptyList = (res: http.ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ data: [] }));
  };

  test('a refused PUT is a transient error naming the upload URL without its query string; the key goes only to Together', async () => {
    const server = await stub((req, res, url) => {
      if (req.method === 'GET') return emptyList(res);
      if (req.method === 'POST') {
        res.writeHead(302, { location: `${url}/bucket/obj?X-Amz-Signature=SECRET-SIG&X-Amz-Credential=AKIA`, 'x-together-file-id': 'file-1' });
        return res.end();
      }
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message><SignatureProvided>SECRET-SIG</SignatureProvided></Error>');
    });
    try {
      const part = partInput(input(2, 'put'), `ab_put${Date.now()}/0`);
      const err = await fresh().prepareInput({ apiKey: KEY, apiBase: `${server.url}/v1` }, part).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).kind).toBe('transient');
      expect((err as ProviderError).message).toBe(
        `upload input: PUT ${server.url}/bucket/obj answered 403 (AccessDenied: Request has expired) for file file-1; a retry asks Together for a new upload URL.`,
      );
      expect((err as ProviderError).url).toBe(`${server.url}/bucket/obj`);
      const [list, post, put] = server.seen;
      expect([list.method, post.method, put.method]).toEqual(['GET', 'POST', 'PUT']);
      expect(post.url).toMatch(/^\/v1\/files\?file_name=anybatch-ab_put\d+_0-[0-9a-f]{10}\.jsonl&file_type=jsonl&purpose=batch-api$/);
      expect(post.authorization).toBe(`Bearer ${KEY}`);
      // The presigned URL gets the file with its length, and no key.
      expect(put.authorization).toBeUndefined();
      expect(Number(put.length)).toBe(put.bytes);
      expect(put.bytes).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  test('a base URL that does not redirect is not the Together API (bad_endpoint); a refused key is auth, never echoed', async () => {
    const server = await stub((req, res) => {
      if (req.method === 'GET') return emptyList(res);
      if (req.headers.authorization === `Bearer ${KEY}`) {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ id: 'file-x' }));
      }
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Invalid API key provided: ${req.headers.authorization}`, type: 'invalid_request_error', code: 'invalid_api_key' } }));
    });
    try {
      const part = partInput(input(2, 'base'), `ab_base${Date.now()}/0`);
      const err = await fresh().prepareInput({ apiKey: KEY, apiBase: `${server.url}/v1` }, part).catch((e: unknown) => e);
      expect((err as ProviderError).kind).toBe('bad_endpoint');
      expect((err as Error).message).toContain(`POST ${server.url}/v1/files answered 200 without Together's upload redirect`);
      expect((err as Error).message).not.toContain('file_name=');
      const wrongKey = 'wrong-key-abcdef123456';
      const refused = await fresh().prepareInput({ apiKey: wrongKey, apiBase: `${server.url}/v1` }, part).catch((e: unknown) => e);
      expect((refused as ProviderError).kind).toBe('auth');
      expect((refused as Error).message).toContain('Together refused the API key (401 invalid_api_key)');
      expect((refused as Error).message).toContain('TOGETHER_API_KEY');
      expect((refused as Error).message).not.toContain(wrongKey);
    } finally {
      await server.close();
    }
  });

  test('an unknown job is not_found; cancelling an ended job returns its state', async () => {
    const adapter = getAdapter('together');
    const conn = { apiKey: KEY, apiBase: baseUrl() };
    const err = await adapter.retrieveBatch(conn, '00000000-0000-0000-0000-000000000000').catch((e: unknown) => e);
    expect((err as ProviderError).kind).toBe('not_found');
    expect((err as Error).message).toContain(`${baseUrl()}/batches/00000000-0000-0000-0000-000000000000`);
    const done = await untilTerminal((await createBatch('together', input(2, 'end'), '/v1/chat/completions', opts())).id);
    const jobId = done.anybatch.provider_batches[0].id;
    await expect(adapter.cancelBatch(conn, jobId)).resolves.toMatchObject({ id: jobId, status: 'completed', progress: 100 });
  });
});
