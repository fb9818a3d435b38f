/**
 * Mistral's mapping tables (lines, statuses, counts, result lines, windows) as pure functions, the SDK's errors
 * as ProviderError kinds, and the adapter's idempotent upload and create against the sandbox.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { providerDefinition } from '../../src/providers/registry';
import { ProviderError, type ProviderInput } from '../../src/providers/types';
import { timeoutHours } from '../../src/providers/mistral/limits';
import { MISTRAL_STATUS_MAP, toMistralLine, toOpenAIBatch, toOpenAIResultLine, type MistralJob } from '../../src/providers/mistral/mapping';

const job = (over: Partial<MistralJob> = {}): MistralJob => ({
  id: 'job-1',
  inputFiles: ['file-1'],
  metadata: { team: 'qa', anybatch_key: 'k' },
  endpoint: '/v1/chat/completions',
  model: 'mistral-small-latest',
  outputFile: null,
  errorFile: null,
  errors: [],
  status: 'QUEUED',
  createdAt: 1000,
  totalRequests: 10,
  completedRequests: 4,
  succeededRequests: 3,
  failedRequests: 1,
  startedAt: null,
  completedAt: null,
  ...over,
});

test('statuses map to OpenAI statuses', () => {
  expect(MISTRAL_STATUS_MAP).toEqual({
    QUEUED: 'validating',
    RUNNING: 'in_progress',
    SUCCESS: 'completed',
    FAILED: 'failed',
    TIMEOUT_EXCEEDED: 'expired',
    CANCELLATION_REQUESTED: 'cancelling',
    CANCELLED: 'cancelled',
  });
  expect(() => toOpenAIBatch(job({ status: 'PAUSED' }))).toThrow(/unknown job status "PAUSED"/);
});

test.each([
  ['SUCCESS', 'completed_at'],
  ['FAILED', 'failed_at'],
  ['TIMEOUT_EXCEEDED', 'expired_at'],
  ['CANCELLED', 'cancelled_at'],
] as const)('a %s job as a Batch: counts, files, %s', (status, field) => {
  const batch = toOpenAIBatch(job({ status, startedAt: 1001, completedAt: 1010, outputFile: 'out', errorFile: 'err' }), '48h');
  expect(batch).toMatchObject({ id: 'job-1', object: 'batch', endpoint: '/v1/chat/completions', input_file_id: 'file-1', completion_window: '48h', created_at: 1000, in_progress_at: 1001, output_file_id: 'out', error_file_id: 'err', request_counts: { total: 10, completed: 3, failed: 1 }, model: 'mistral-small-latest' });
  expect(batch[field]).toBe(1010);
});

test("a job's errors become the batch's errors", () => {
  const batch = toOpenAIBatch(job({ status: 'FAILED', errors: [{ message: 'bad line', count: 3 }] }));
  expect(batch.errors?.data).toEqual([{ code: 'batch_error', message: 'bad line (3 times)', line: null, param: null }]);
});

test('OpenAI and native lines become {custom_id, body} with the model moved out', () => {
  const openai = toMistralLine({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [] } }, '/v1/chat/completions');
  expect(openai).toEqual({ customId: 'a', model: 'm', text: '{"custom_id":"a","body":{"messages":[]}}' });
  expect(toMistralLine({ custom_id: 'b', body: { model: 'm', input: ['x'] } }, '/v1/embeddings').text).toBe('{"custom_id":"b","body":{"input":["x"]}}');
  expect(() => toMistralLine({ custom_id: 'c', method: 'POST', url: '/v1/embeddings', body: { model: 'm' } }, '/v1/chat/completions')).toThrow(/url must be the batch endpoint/);
});

test('result lines become OpenAI output lines under the same custom_id', () => {
  expect(toOpenAIResultLine({ id: 'r1', custom_id: 'a', response: { status_code: 200, body: { object: 'chat.completion' } }, error: null })).toEqual({
    id: 'r1',
    custom_id: 'a',
    response: { status_code: 200, request_id: 'r1', body: { object: 'chat.completion' } },
    error: null,
  });
  expect(toOpenAIResultLine({ custom_id: 'b', response: null, error: { code: 'x', message: 'no' } })).toMatchObject({ custom_id: 'b', response: null, error: { code: 'x', message: 'no' } });
  expect(toOpenAIResultLine({ custom_id: 'c', error: 'boom' }).error).toEqual({ code: 'request_failed', message: 'boom' });
});

test('completion windows are timeout_hours', () => {
  expect([timeoutHours('24h'), timeoutHours('48h'), timeoutHours('7d'), timeoutHours('1d'), timeoutHours('169h'), timeoutHours('8d'), timeoutHours('x')]).toEqual([24, 48, 168, 24, null, null, null]);
  const caps = providerDefinition('mistral').capabilities;
  expect(caps.completionWindows[0]).toBe('24h');
  for (const w of caps.completionWindows) expect(timeoutHours(w)).not.toBeNull();
  expect(caps.requiresSingleModel).toBe(true);
});

describe('the adapter against the sandbox', () => {
  let sandbox: Sandbox;
  let dir: string;
  const adapter = providerDefinition('mistral').createAdapter();
  const conn = () => ({ apiKey: 'k', apiBase: sandbox.baseUrls.mistral });

  beforeAll(async () => {
    sandbox = await startSandbox({ rate: 500, validationMs: 20, finalizingMs: 10, cancellingMs: 20 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-mistral-'));
  });
  afterAll(async () => {
    await sandbox.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => sandbox.setFaults({}));

  function stage(name: string, n: number): ProviderInput {
    const file = path.join(dir, `${name}.jsonl`);
    const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `${name}-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'mistral-small-latest', messages: [{ role: 'user', content: `hi ${i}` }] } }));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return { path: file, requestCount: n, bytes: fs.statSync(file).size, idempotencyKey: `ab_${name}/0`, notBefore: Math.floor(Date.now() / 1000) - 1, endpoint: '/v1/chat/completions', options: {}, workDir: path.join(dir, `${name}-work`) };
  }

  test('a retried upload and create find the earlier file and job instead of making new ones', async () => {
    const input = stage('idem', 5);
    const first = await adapter.prepareInput(conn(), input);
    const again = await adapter.prepareInput(conn(), input);
    expect(first.kind).toBe('file');
    expect(again).toEqual(first);
    const request = { input, prepared: first, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: { team: 'qa' } };
    const a = await adapter.createBatch(conn(), request);
    const b = await adapter.createBatch(conn(), request);
    expect(b.id).toBe(a.id);
    expect(sandbox.stats().providers.mistral?.batchesCreated).toBe(1);
    expect(a.metadata).toEqual({ team: 'qa', anybatch_key: 'ab_idem/0' });
    expect(a.model).toBe('mistral-small-latest');
  });

  test("the SDK's errors become ProviderError kinds", async () => {
    sandbox.setFaults({ forceStatus: 401 });
    await expect(adapter.retrieveBatch(conn(), 'x')).rejects.toMatchObject({ kind: 'auth', status: 401 });
    sandbox.setFaults({ forceStatus: 429, retryAfterSeconds: 3 });
    await expect(adapter.retrieveBatch(conn(), 'x')).rejects.toMatchObject({ kind: 'rate_limited', retryAfterMs: 3000 });
    sandbox.setFaults({ forceStatus: 503 });
    await expect(adapter.retrieveBatch(conn(), 'x')).rejects.toMatchObject({ kind: 'transient', status: 503 });
    sandbox.setFaults({});
    await expect(adapter.retrieveBatch(conn(), 'nope')).rejects.toMatchObject({ kind: 'not_found', status: 404 });
    const refused = await adapter.retrieveBatch({ apiKey: 'k', apiBase: 'http://127.0.0.1:1' }, 'x').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused).toMatchObject({ kind: 'unreachable' });
    expect((refused as Error).message).toMatch(/connection refused/);
  });
});
