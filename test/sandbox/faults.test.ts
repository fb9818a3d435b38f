/** Injected faults: what a raw client sees, and that the SDK's retries carry the happy path through them. */
import fs from 'node:fs';
import { Command } from 'commander';
import OpenAI, { toFile } from 'openai';
import { UsageError } from '../../src/errors';
import { startSandbox, type Sandbox, type SandboxStats } from '../../src/sandbox';
import { registerSandboxCommand } from '../../src/sandbox/cli';
import { chatLine, clientFor, range, readLines, tempDir, waitFor } from './helpers';

let sandbox: Sandbox;
let dir: string;
const auth = { authorization: 'Bearer k' };

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 30, finalizingMs: 20 });
  dir = tempDir();
});

afterEach(() => sandbox.setFaults({}));

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function jsonl(ids: string[]): Buffer {
  return Buffer.from(ids.map((id) => JSON.stringify(chatLine(id))).join('\n') + '\n');
}

test('with rate429 = 1 every API request gets a 429 with retry-after', async () => {
  sandbox.setFaults({ rate429: 1, retryAfterSeconds: 7 });
  const before = sandbox.stats().faults.rate429;
  const res = await fetch(`${sandbox.url}/v1/batches`, { headers: auth });
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('7');
  expect(res.headers.get('x-should-retry')).toBeNull();
  expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  expect(((await res.json()) as { error: { type: string } }).error.type).toBe('rate_limit_exceeded');
  expect(sandbox.stats().faults.rate429).toBe(before + 1);
});

test('control routes are never faulted and need no key', async () => {
  sandbox.setFaults({ rate500: 1 });
  const stats = await fetch(`${sandbox.url}/_sandbox/stats`);
  expect(stats.status).toBe(200);
  expect((await stats.json()) as SandboxStats).toMatchObject({ requests: expect.any(Number), faults: expect.any(Object) });

  const set = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify({ rate429: 1, retryAfterSeconds: 2 }) });
  expect(set.status).toBe(200);
  const res = await fetch(`${sandbox.url}/v1/files`, { headers: auth });
  expect([res.status, res.headers.get('retry-after')]).toEqual([429, '2']);

  const bad = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify({ rate429: 3 }) });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
});

test('with rate500 = 0.3 the SDK retries its way through a whole batch', async () => {
  // Seed 8's first draw fails the upload itself, so a fault happens however fast the batch ends (seed 42's first
  // fault was the fifth request, which a batch that completes at its first poll never makes).
  const before = sandbox.stats().faults.rate500;
  sandbox.setFaults({ rate500: 0.3, seed: 8 });
  const client = clientFor(sandbox, { maxRetries: 8 });
  const ids = range(10);
  // A Buffer upload is retryable; a stream body is not (the SDK cannot replay it).
  const file = await client.files.create({ file: await toFile(jsonl(ids), 'faulty.jsonl'), purpose: 'batch' });
  const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const done = await waitFor(client, batch.id, ['completed'], 30_000);
  const output = await readLines(client, done.output_file_id);
  expect(output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
  expect(sandbox.stats().faults.rate500).toBeGreaterThan(before);
});

test('a dropped connection gives the client a connection error', async () => {
  sandbox.setFaults({ rateDrop: 1 });
  const client = clientFor(sandbox, { maxRetries: 0 });
  await expect(client.batches.list()).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
  expect(sandbox.stats().faults.drops).toBeGreaterThan(0);
});

test('slowMs delays every API request', async () => {
  sandbox.setFaults({ slowMs: 150 });
  const started = Date.now();
  await clientFor(sandbox).files.list();
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
});

test('the same seed draws the same faults', async () => {
  const draw = async (): Promise<number[]> => {
    sandbox.setFaults({ rate500: 0.5, seed: 7 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await fetch(`${sandbox.url}/v1/files`, { headers: auth })).status);
    return statuses;
  };
  const first = await draw();
  expect(first).toContain(500);
  expect(first).toContain(200);
  expect(await draw()).toEqual(first);
});

test('a truncated download ends early with fewer bytes than content-length', async () => {
  const client = clientFor(sandbox, { maxRetries: 0 });
  const file = await client.files.create({ file: await toFile(jsonl(range(200)), 'trunc.jsonl'), purpose: 'batch' });
  sandbox.setFaults({ truncateDownloads: 1 });
  const res = await fetch(`${sandbox.url}/v1/files/${file.id}/content`, { headers: auth });
  expect(res.headers.get('content-length')).toBe(String(file.bytes));
  await expect(res.text()).rejects.toThrow();
  expect(sandbox.stats().faults.truncated).toBe(1);
});

test('a throttled download is in flight while it streams', async () => {
  const client = clientFor(sandbox, { maxRetries: 0 });
  const file = await client.files.create({ file: await toFile(Buffer.alloc(3000, 'x'), 'slow.jsonl'), purpose: 'batch' });
  sandbox.setFaults({ downloadBytesPerSecond: 10_000 });
  const started = Date.now();
  const res = await fetch(`${sandbox.url}/v1/files/${file.id}/content`, { headers: auth });
  expect(sandbox.stats().contentDownloadsInFlight).toBe(1);
  expect((await res.arrayBuffer()).byteLength).toBe(3000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(sandbox.stats().contentDownloadsInFlight).toBe(0);
});

test('createResponseDelayMs registers the batch before answering', async () => {
  const client = clientFor(sandbox, { maxRetries: 0 });
  const file = await client.files.create({ file: await toFile(jsonl(['d']), 'delayed.jsonl'), purpose: 'batch' });
  sandbox.setFaults({ createResponseDelayMs: 300 });
  const before = sandbox.stats().batchesCreated;
  const creating = client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(sandbox.stats().batchesCreated).toBe(before + 1);
  const batch = await creating;
  expect((await client.batches.list()).data[0].id).toBe(batch.id);
});

describe('forceStatus', () => {
  test('every OpenAI API request answers with the status in OpenAI error shape, before auth', async () => {
    sandbox.setFaults({ forceStatus: 403 });
    const res = await fetch(`${sandbox.url}/v1/batches`); // no key: the forced status comes first
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body).toEqual({ error: { message: expect.stringMatching(/^You are not allowed to /), type: 'invalid_request_error', param: null, code: 'permission_denied' } });
    const client = clientFor(sandbox, { maxRetries: 0 });
    await expect(client.files.list()).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    await expect(client.batches.retrieve('batch_any')).rejects.toMatchObject({ status: 403, code: 'permission_denied' });
  });

  test('404, 429 (with retry-after) and 5xx; set through POST /_sandbox/faults; Anthropic paths in their shape', async () => {
    const set = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify({ forceStatus: 404 }) });
    expect(((await set.json()) as { faults: unknown }).faults).toEqual({ forceStatus: 404 });
    const missing = await fetch(`${sandbox.url}/v1/files`, { method: 'POST', headers: auth });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string; param: null } }).error).toMatchObject({ code: 'not_found', param: null, type: 'invalid_request_error' });

    sandbox.setFaults({ forceStatus: 429, retryAfterSeconds: 4 });
    const limited = await fetch(`${sandbox.url}/v1/batches`, { headers: auth });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '4']);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');

    sandbox.setFaults({ forceStatus: 503 });
    const down = await fetch(`${sandbox.url}/v1/batches`, { headers: auth });
    expect(down.status).toBe(503);
    expect(((await down.json()) as { error: { type: string } }).error.type).toBe('server_error');

    sandbox.setFaults({ forceStatus: 403 });
    const anthropic = await fetch(`${sandbox.url}/v1/messages/batches`, { headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' } });
    expect(anthropic.status).toBe(403);
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'permission_error' } });

    // Control routes stay reachable, and bad values are refused.
    for (const bad of [200, 600, 403.5, '403']) {
      const refused = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify({ forceStatus: bad }) });
      expect(refused.status).toBe(400);
    }
    sandbox.setFaults({});
    expect((await fetch(`${sandbox.url}/v1/batches`, { headers: auth })).status).toBe(200);
  });
});

describe('models', () => {
  test('a batch with a request for an unknown model fails validation like OpenAI, at the first such line', async () => {
    sandbox.setFaults({ models: ['gpt-4o-mini', 'gpt-4.1'] });
    const client = clientFor(sandbox, { maxRetries: 0 });
    const lines = [chatLine('a'), chatLine('b', { model: 'gpt-no-such-model' }), chatLine('c', { model: 'gpt-other' })];
    const file = await client.files.create({ file: await toFile(Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'), 'models.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const failed = await waitFor(client, batch.id, ['failed', 'completed']);
    expect(failed.status).toBe('failed');
    expect(failed.errors?.data).toEqual([
      { code: 'model_not_found', message: 'The model `gpt-no-such-model` does not exist or you do not have access to it.', param: 'body.model', line: 2 },
    ]);
    expect(failed.output_file_id).toBeNull();
  });

  test('a batch whose models all exist runs; the setting is checked', async () => {
    const set = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify({ models: ['gpt-4o-mini'] }) });
    expect(((await set.json()) as { faults: unknown }).faults).toEqual({ models: ['gpt-4o-mini'] });
    const client = clientFor(sandbox, { maxRetries: 0 });
    const file = await client.files.create({ file: await toFile(jsonl(['x', 'y']), 'known.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect((await waitFor(client, batch.id, ['failed', 'completed'])).status).toBe('completed');
    for (const bad of ['gpt-4o-mini', [''], [1], {}]) {
      const refused = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify({ models: bad }) });
      expect(refused.status).toBe(400);
    }
  });
});

/** Runs `anybatch sandbox ARGS` in-process until `use` is done with its URL, then stops it as SIGTERM would. */
async function withCliSandbox(args: string[], use: (url: string) => Promise<void>): Promise<void> {
  const program = (): Command => {
    const root = new Command('anybatch').exitOverride();
    registerSandboxCommand(root);
    return root;
  };
  const printed: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  const before = process.listeners('SIGTERM');
  try {
    const running = program().parseAsync(['sandbox', '--port', '0', ...args], { from: 'user' });
    while (printed.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    try {
      await use(/listening on (http:\/\/[^ ]+) /.exec(printed[0])![1]);
    } finally {
      // Only the command's own handler: a real signal would reach jest's handlers too.
      for (const stop of process.listeners('SIGTERM').filter((l) => !before.includes(l))) stop('SIGTERM');
      await running;
    }
  } finally {
    write.mockRestore();
  }
}

test('anybatch sandbox takes --force-status and --models', async () => {
  for (const bad of [['--force-status', '99'], ['--force-status', 'x'], ['--models', ' , ']]) {
    const root = new Command('anybatch').exitOverride();
    registerSandboxCommand(root);
    await expect(root.parseAsync(['sandbox', '--port', '0', ...bad], { from: 'user' })).rejects.toBeInstanceOf(UsageError);
  }
  await withCliSandbox(['--force-status', '403'], async (url) => {
    const res = await fetch(`${url}/v1/batches`, { headers: auth });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('permission_denied');
  });
  await withCliSandbox(['--models', 'gpt-4.1, o3', '--validation-ms', '10'], async (url) => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 });
    const file = await client.files.create({ file: await toFile(jsonl(['m']), 'cli-models.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const failed = await waitFor(client, batch.id, ['failed', 'completed']);
    expect(failed.errors?.data?.[0]).toMatchObject({ code: 'model_not_found', line: 1, param: 'body.model' });
  });
});
