/**
 * Provider batch objects made safe for the workflow (src/providers/normalize.ts), and the registry applying it to
 * every adapter's createBatch, retrieveBatch and cancelBatch (src/providers/registry.ts `getAdapter`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Batch } from '../../src/contract/batch';
import { normalizeProviderBatch, normalizeStatus, safeInteger } from '../../src/providers/normalize';
import { REGISTRY, getAdapter } from '../../src/providers/registry';
import { preparedFile, type ProviderConnection } from '../../src/providers/types';

const MAX = Number.MAX_SAFE_INTEGER;

describe('safeInteger', () => {
  test.each<[unknown, number | null]>([
    [5, 5],
    [0, 0],
    [-0, 0],
    ['5', 5],
    [' 12 ', 12],
    ['3.0', 3],
    ['1e3', 1000],
    [1.5, 1],
    [0.4, 0],
    [1e20, MAX],
    [MAX, MAX],
    [MAX + 2, MAX],
    ['99999999999999999999', MAX],
    [-3, 0],
    ['-3', 0],
    [-Infinity, null],
    [Infinity, null],
    [NaN, null],
    ['NaN', null],
    ['Infinity', null],
    ['0x10', null],
    ['', null],
    ['  ', null],
    ['five', null],
    ['5 apples', null],
    [null, null],
    [undefined, null],
    [true, null],
    [{}, null],
    [[5], null],
    [BigInt(7), 7],
  ])('%p -> %p', (value, expected) => {
    expect(safeInteger(value)).toBe(expected);
  });
});

describe('normalizeStatus', () => {
  test.each<[unknown, string]>([
    ['validating', 'validating'],
    ['in_progress', 'in_progress'],
    ['finalizing', 'finalizing'],
    ['completed', 'completed'],
    ['failed', 'failed'],
    ['expired', 'expired'],
    ['cancelling', 'cancelling'],
    ['cancelled', 'cancelled'],
    [' COMPLETED ', 'completed'],
    ['Cancelled', 'cancelled'],
    ['canceled', 'cancelled'],
    ['canceling', 'cancelling'],
    // Unknown: not terminal, so the workflow keeps polling instead of writing outcomes early.
    ['queued', 'in_progress'],
    ['done', 'in_progress'],
    ['', 'in_progress'],
    [null, 'in_progress'],
    [undefined, 'in_progress'],
    [3, 'in_progress'],
  ])('%p -> %s', (value, expected) => {
    expect(normalizeStatus(value)).toBe(expected);
  });
});

/** A batch as an adapter might return it from a lenient server: the SDK's types say nothing about what came. */
function batch(fields: Record<string, unknown>): Batch {
  return { id: 'batch_1', object: 'batch', endpoint: '/v1/chat/completions', input_file_id: 'file_1', completion_window: '24h', status: 'in_progress', created_at: 1_700_000_000, ...fields } as unknown as Batch;
}

describe('normalizeProviderBatch', () => {
  test('a well-formed batch passes with the same values', () => {
    const good = batch({
      status: 'completed',
      in_progress_at: 1_700_000_010,
      completed_at: 1_700_000_100,
      failed_at: null,
      request_counts: { total: 10, completed: 8, failed: 2 },
      usage: { input_tokens: 100, input_tokens_details: { cached_tokens: 5 }, output_tokens: 50, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 150 },
      metadata: { anybatch_key: 'k' },
      output_file_id: 'file_out',
      errors: { object: 'list', data: [{ code: 'x', message: 'y', line: 3, param: null }] },
    });
    const before = structuredClone(good);
    const out = normalizeProviderBatch(good);
    expect(out).toEqual(good);
    expect(out).not.toBe(good);
    expect(good).toEqual(before); // the input is not changed
  });

  test.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['counts as strings', { request_counts: { total: '5', completed: '3', failed: '1' } }, { request_counts: { total: 5, completed: 3, failed: 1 } }],
    ['fractional counts', { request_counts: { total: 1.5, completed: 0.5, failed: 1.9 } }, { request_counts: { total: 1, completed: 0, failed: 1 } }],
    ['counts past the safe range', { request_counts: { total: 1e20, completed: '1e300', failed: MAX + 10 } }, { request_counts: { total: MAX, completed: MAX, failed: MAX } }],
    ['negative counts', { request_counts: { total: -3, completed: '-1', failed: -0.5 } }, { request_counts: { total: 0, completed: 0, failed: 0 } }],
    ['non-finite counts', { request_counts: { total: NaN, completed: Infinity, failed: -Infinity } }, { request_counts: { total: 0, completed: 0, failed: 0 } }],
    ['missing counts inside the object', { request_counts: { total: 4 } }, { request_counts: { total: 4, completed: 0, failed: 0 } }],
    ['junk counts', { request_counts: { total: 'many', completed: null, failed: { n: 1 } } }, { request_counts: { total: 0, completed: 0, failed: 0 } }],
    ['a created_at string', { created_at: '1700000000' }, { created_at: 1_700_000_000 }],
    ['a created_at that is no number', { created_at: 'yesterday' }, { created_at: 0 }],
    ['a fractional created_at', { created_at: 1_700_000_000.7 }, { created_at: 1_700_000_000 }],
    ['a NaN created_at', { created_at: NaN }, { created_at: 0 }],
    ['optional times: strings, junk, non-finite, huge, negative', { completed_at: '1700000100', failed_at: 'soon', expires_at: Infinity, cancelled_at: 1e20, in_progress_at: -5 }, { completed_at: 1_700_000_100, failed_at: null, expires_at: null, cancelled_at: MAX, in_progress_at: 0 }],
    ['null optional times stay null', { completed_at: null, expired_at: null }, { completed_at: null, expired_at: null }],
    ['usage as strings and junk', { usage: { input_tokens: '100', output_tokens: 1.5, total_tokens: NaN, input_tokens_details: { cached_tokens: '-2' }, output_tokens_details: null } }, { usage: { input_tokens: 100, output_tokens: 1, total_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } } }],
    ['usage with fields missing', { usage: {} }, { usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } } }],
    ['fractional progress', { progress: 42.7 }, { progress: 42 }],
    ['progress as a string', { progress: '55' }, { progress: 55 }],
    ['progress over 100', { progress: 250 }, { progress: 100 }],
    ['progress negative', { progress: -1 }, { progress: 0 }],
    ['an unknown status', { status: 'queued' }, { status: 'in_progress' }],
    ['a status in capitals', { status: 'COMPLETED' }, { status: 'completed' }],
  ])('%s', (_name, fields, expected) => {
    expect(normalizeProviderBatch(batch(fields))).toMatchObject(expected);
  });

  test('request_counts and usage that are not objects are dropped; absent fields stay absent; junk progress is dropped', () => {
    const out = normalizeProviderBatch(batch({ request_counts: null, usage: 'lots', progress: 'half' }));
    expect(out).not.toHaveProperty('request_counts');
    expect(out).not.toHaveProperty('usage');
    expect(out).not.toHaveProperty('progress');
    const bare = normalizeProviderBatch(batch({}));
    for (const field of ['request_counts', 'usage', 'progress', 'completed_at', 'expires_at', 'in_progress_at']) expect(bare).not.toHaveProperty(field);
    expect(normalizeProviderBatch(batch({ request_counts: [1, 2, 3] }))).not.toHaveProperty('request_counts');
  });

  test('every number the workflow reads is a safe integer afterwards, whatever came', () => {
    const junk: unknown[] = ['5', 1.5, 1e20, -3, NaN, Infinity, -Infinity, null, undefined, 'x', {}, [], true];
    for (const v of junk) {
      const out = normalizeProviderBatch(
        batch({ created_at: v, completed_at: v, request_counts: { total: v, completed: v, failed: v }, usage: { input_tokens: v, output_tokens: v, total_tokens: v }, progress: v }),
      );
      const numbers = [out.created_at, out.request_counts!.total, out.request_counts!.completed, out.request_counts!.failed, out.usage!.input_tokens, out.usage!.output_tokens, out.usage!.total_tokens];
      for (const n of numbers) expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
      for (const t of [out.completed_at, out.progress]) expect(t === undefined || t === null || (Number.isSafeInteger(t) && t >= 0)).toBe(true);
    }
  });
});

/** A loopback OpenAI stand-in whose batch object carries what a lenient self-hosted server might send. */
async function lenientServer(): Promise<{ url: string; close(): Promise<void> }> {
  const body = {
    id: 'batch_1',
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: 'file_1',
    completion_window: '24h',
    status: 'Processing',
    created_at: '1700000000',
    completed_at: null,
    request_counts: { total: '5', completed: 1.5, failed: 1e20 },
    usage: { input_tokens: -3, output_tokens: 'NaN', total_tokens: 7 },
  };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      const list = req.method === 'GET' && /\/batches(\?|$)/.test(req.url!);
      res.end(JSON.stringify(list ? { object: 'list', data: [], has_more: false } : body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('getAdapter normalizes every batch an adapter answers with', () => {
  let server: Awaited<ReturnType<typeof lenientServer>>;
  beforeAll(async () => {
    server = await lenientServer();
  });
  afterAll(() => server.close());
  const conn = (): ProviderConnection => ({ apiKey: 'key-0123456789', apiBase: server.url });
  const expected = {
    status: 'in_progress',
    created_at: 1_700_000_000,
    completed_at: null,
    request_counts: { total: 5, completed: 1, failed: MAX },
    usage: { input_tokens: 0, output_tokens: 0, total_tokens: 7 },
  };

  test('retrieveBatch, cancelBatch and createBatch', async () => {
    const adapter = getAdapter('openai');
    expect(await adapter.retrieveBatch(conn(), 'batch_1')).toMatchObject(expected);
    expect(await adapter.cancelBatch(conn(), 'batch_1')).toMatchObject(expected);
    const created = await adapter.createBatch(conn(), {
      input: { path: '/x/part.jsonl', requestCount: 1, bytes: 10, idempotencyKey: 'ab_1/0', notBefore: 0, endpoint: '/v1/chat/completions', options: {}, workDir: '/x' },
      prepared: preparedFile('file_1'),
      endpoint: '/v1/chat/completions',
      completionWindow: '24h',
      metadata: null,
    });
    expect(created).toMatchObject(expected);
    // The adapter underneath answers with what the server sent: only the registry's adapter normalizes.
    expect(await REGISTRY.openai.createAdapter().retrieveBatch(conn(), 'batch_1')).toMatchObject({ status: 'Processing', request_counts: { total: '5' } });
  });

  test('the wrapped adapter keeps its capabilities, optional members and identity', () => {
    const adapter = getAdapter('anthropic');
    expect(adapter).toBe(getAdapter('anthropic'));
    expect(adapter.capabilities).toBe(REGISTRY.anthropic.capabilities);
    expect(typeof adapter.sentBytes).toBe('function');
    expect(typeof adapter.checkRequest).toBe('function');
    expect(adapter.retrieveBatch).toBe(adapter.retrieveBatch);
    // Methods run on the adapter itself (its private members are reached through `this`).
    expect(adapter.checkRequest!({ model: 'claude', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }, '/v1/chat/completions', {})).toEqual({ problems: [], warnings: [] });
  });
});
