/**
 * The groq module through the `openai` SDK at its base URL (`<url>/groq/openai/v1`, what the orchestrator
 * uses): a whole batch, Groq's completion windows (24h to 7d), its parameterless list, its 100 MB files.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import OpenAI, { toFile } from 'openai';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { chatLine, range, readLines, tempDir, upload, waitFor, writeJsonl } from './helpers';

let sandbox: Sandbox;
let client: OpenAI;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 200, validationMs: 30, finalizingMs: 20, cancellingMs: 30 });
  client = new OpenAI({ baseURL: sandbox.baseUrls.groq, apiKey: 'gsk_test', maxRetries: 0 });
  dir = tempDir();
});

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function create(lines: Array<Record<string, unknown>>, completionWindow = '24h'): Promise<OpenAI.Batches.Batch> {
  const fileId = await upload(client, writeJsonl(dir, `groq-${Date.now()}-${Math.random()}.jsonl`, lines));
  // The SDK's type says '24h'; Groq takes longer windows, which is the point here.
  return client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: completionWindow as '24h' });
}

test('the openai SDK at the groq base URL runs a batch: upload, create, retrieve until completed, output and error files', async () => {
  const created = await create([chatLine('a'), chatLine('b'), chatLine('bad', { sandbox_error: 422 })]);
  expect(created).toMatchObject({ object: 'batch', status: 'validating', completion_window: '24h' });
  const done = await waitFor(client, created.id, ['completed']);
  expect(done.request_counts).toEqual({ total: 3, completed: 2, failed: 1 });

  const output = await readLines(client, done.output_file_id);
  expect(output.map((l) => l.custom_id)).toEqual(['a', 'b']);
  expect(output[0].response).toMatchObject({ status_code: 200, body: { object: 'chat.completion', choices: [{ message: { content: 'Sandbox reply to: Say hello to a' } }] } });
  const errors = await readLines(client, done.error_file_id);
  expect(errors.map((l) => [l.custom_id, l.response?.status_code])).toEqual([['bad', 422]]);
});

test('completion_window takes 24h to 7d, and the batch expires at the end of its window', async () => {
  for (const [window, seconds] of [['24h', 86_400], ['48h', 172_800], ['72h', 259_200], ['2d', 172_800], ['7d', 604_800]] as const) {
    const batch = await create([chatLine(`w-${window}`)], window);
    expect([batch.completion_window, batch.expires_at! - batch.created_at]).toEqual([window, seconds]);
  }
});

test("any other completion_window is a 400 in OpenAI's error shape", async () => {
  const file = await upload(client, writeJsonl(dir, 'windows.jsonl', [chatLine('w')]));
  for (const window of ['1h', '23h', '169h', '8d', '1w', '24', '0d', 'abc', '']) {
    const res = await fetch(`${sandbox.baseUrls.groq}/batches`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: JSON.stringify({ input_file_id: file, endpoint: '/v1/chat/completions', completion_window: window }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toEqual({ message: expect.stringContaining("'24h' to '7d'"), type: 'invalid_request_error', param: 'completion_window', code: 'invalid_value' });
  }
});

test('the batch list takes no parameters and answers every batch, without cursors or has_more', async () => {
  const lister = await startSandbox({ validationMs: 60_000 });
  try {
    const groq = new OpenAI({ baseURL: lister.baseUrls.groq, apiKey: 'gsk_test', maxRetries: 0 });
    const fileId = await upload(groq, writeJsonl(dir, 'list.jsonl', [chatLine('l')]));
    const created: string[] = [];
    for (let i = 0; i < 25; i++) {
      created.push((await groq.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
    }
    const raw = (await (await fetch(`${lister.baseUrls.groq}/batches?limit=2`, { headers: { authorization: 'Bearer k' } })).json()) as Record<string, unknown>;
    expect(Object.keys(raw).sort()).toEqual(['data', 'object']);
    expect((raw.data as Array<{ id: string }>).map((b) => b.id)).toEqual([...created].reverse());

    // The SDK reads the missing has_more as false: one page, every batch once.
    const seen: string[] = [];
    for await (const batch of groq.batches.list({ limit: 10 })) seen.push(batch.id);
    expect(seen).toEqual([...created].reverse());
  } finally {
    await lister.close();
  }
});

test('a cancelled batch reports what ran and batch_cancelled for the rest, each custom_id once', async () => {
  const slow = await startSandbox({ rate: 20, validationMs: 20, cancellingMs: 30 });
  try {
    const groq = new OpenAI({ baseURL: slow.baseUrls.groq, apiKey: 'gsk_test', maxRetries: 0 });
    const ids = range(60);
    const fileId = await upload(groq, writeJsonl(dir, 'cancel.jsonl', ids.map((id) => chatLine(id))));
    const batch = await groq.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitFor(groq, batch.id, ['in_progress']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await groq.batches.cancel(batch.id)).status).toBe('cancelling');
    const cancelled = await waitFor(groq, batch.id, ['cancelled']);

    const output = await readLines(groq, cancelled.output_file_id);
    const errors = await readLines(groq, cancelled.error_file_id);
    expect(output.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    expect(cancelled.request_counts).toEqual({ total: 60, completed: output.length, failed: errors.length });
  } finally {
    await slow.close();
  }
});

test('a batch may mix models: Groq has no one-model rule', async () => {
  const mixed = await create([chatLine('m1'), chatLine('m2', { model: 'llama-3.1-8b-instant' })]);
  const done = await waitFor(client, mixed.id, ['completed', 'failed']);
  expect([done.status, done.request_counts]).toEqual(['completed', { total: 2, completed: 2, failed: 0 }]);
});

test('files.info (groq-sdk) and files.retrieve read the same path', async () => {
  const file = await client.files.create({ file: await toFile(Buffer.from(`${JSON.stringify(chatLine('i'))}\n`), 'info.jsonl'), purpose: 'batch' });
  const raw = await (await fetch(`${sandbox.baseUrls.groq}/files/${file.id}`, { headers: { authorization: 'Bearer k' } })).json();
  expect(raw).toEqual(await client.files.retrieve(file.id));
});

test('uploads are limited to 100 MB', async () => {
  const MB = 1024 * 1024;
  const line = Buffer.from(`${JSON.stringify(chatLine('x'.repeat(MB - 200)))}\n`);
  const body = Readable.from((function* () {
    for (let i = 0; i < 101; i++) yield line;
  })());
  const error = await client.files.create({ file: await toFile(body, 'big.jsonl'), purpose: 'batch' }).catch((e: unknown) => e);
  expect(error).toMatchObject({ status: 400, message: expect.stringContaining('File is too large.') });
});

test("request ids look like Groq's", async () => {
  const { response } = await client.batches.list().withResponse();
  expect(response.headers.get('x-request-id')).toMatch(/^req_01[0-9a-z]{24}$/);
});
