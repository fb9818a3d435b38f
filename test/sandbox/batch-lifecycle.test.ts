/** A batch's life through the official SDK: run to completion, per-request errors, validation failures, cancel, expiry. */
import fs from 'node:fs';
import type OpenAI from 'openai';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { chatLine, clientFor, range, readLines, startChatBatch, tempDir, waitFor } from './helpers';

let sandbox: Sandbox;
let client: OpenAI;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 50, finalizingMs: 50, cancellingMs: 50 });
  client = clientFor(sandbox);
  dir = tempDir();
});

afterEach(() => sandbox.setFaults({}));

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a streamed upload runs to completed and every custom_id appears exactly once', async () => {
  const ids = range(30);
  const created = await startChatBatch(client, dir, ids.map((id) => chatLine(id)));
  expect(created.status).toBe('validating');
  expect(created.expires_at).toBe(created.created_at + 86_400);

  const done = await waitFor(client, created.id, ['completed']);
  expect(done.request_counts).toEqual({ total: 30, completed: 30, failed: 0 });
  expect(done.model).toBe('gpt-4o-mini');
  expect(done.error_file_id).toBeNull();
  expect(done.in_progress_at).not.toBeNull();
  expect(done.finalizing_at).not.toBeNull();
  expect(done.completed_at).not.toBeNull();
  expect(done.usage?.total_tokens).toBeGreaterThan(0);

  const output = await readLines(client, done.output_file_id);
  expect(output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
  const first = output.find((l) => l.custom_id === 'req-0');
  expect(first?.id).toMatch(/^batch_req_/);
  expect(first?.error).toBeNull();
  expect(first?.response?.status_code).toBe(200);
  expect(first?.response?.request_id).toMatch(/^req_/);
  expect(first?.response?.body).toMatchObject({
    object: 'chat.completion',
    model: 'gpt-4o-mini',
    choices: [{ message: { role: 'assistant', content: 'Sandbox reply to: Say hello to req-0' } }],
  });
  const outputFile = await client.files.retrieve(done.output_file_id as string);
  expect(outputFile.purpose).toBe('batch_output');
});

test('requests asking for an error become HTTP error lines in the error file', async () => {
  const lines = [chatLine('ok-1'), chatLine('bad-status', { sandbox_error: 422 }), chatLine('bad-tokens', { max_tokens: 0 }), chatLine('ok-2')];
  const done = await waitFor(client, (await startChatBatch(client, dir, lines)).id, ['completed']);
  expect(done.request_counts).toEqual({ total: 4, completed: 2, failed: 2 });

  const errors = await readLines(client, done.error_file_id);
  expect(errors.map((l) => l.custom_id).sort()).toEqual(['bad-status', 'bad-tokens']);
  const tokens = errors.find((l) => l.custom_id === 'bad-tokens');
  expect(tokens?.error).toBeNull();
  expect(tokens?.response).toMatchObject({
    status_code: 400,
    body: { error: { type: 'invalid_request_error', param: 'max_tokens' } },
  });
  expect(Object.keys((tokens?.response?.body as { error: object }).error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(errors.find((l) => l.custom_id === 'bad-status')?.response?.status_code).toBe(422);
  expect((await readLines(client, done.output_file_id)).map((l) => l.custom_id).sort()).toEqual(['ok-1', 'ok-2']);
});

test('an output file is not created when every request failed', async () => {
  const done = await waitFor(client, (await startChatBatch(client, dir, [chatLine('only', { sandbox_error: 500 })])).id, ['completed']);
  expect(done.output_file_id).toBeNull();
  expect(done.error_file_id).not.toBeNull();
  expect(done.request_counts).toEqual({ total: 1, completed: 0, failed: 1 });
});

test('bad input lines fail the batch asynchronously with codes and line numbers', async () => {
  const lines = [
    chatLine('a'),
    '{"custom_id": "b", "method": ',
    chatLine('a'),
    { ...chatLine('c'), url: '/v1/embeddings' },
    chatLine('d', { model: 'gpt-4o' }),
    { ...chatLine('e'), method: 'GET' },
    '[1, 2]',
  ];
  const created = await startChatBatch(client, dir, lines);
  expect(created.status).toBe('validating');
  const failed = await waitFor(client, created.id, ['failed']);
  expect(failed.failed_at).not.toBeNull();
  expect(failed.in_progress_at).toBeNull();
  expect(failed.errors?.object).toBe('list');
  expect(failed.errors?.data?.map((e) => [e.code, e.line])).toEqual([
    ['invalid_json_line', 2],
    ['duplicate_custom_id', 3],
    ['url_mismatch', 4],
    ['model_mismatch', 5],
    ['invalid_method', 6],
    ['invalid_json_line', 7],
  ]);
  for (const error of failed.errors?.data ?? []) expect(typeof error.message).toBe('string');
  expect(failed.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });
});

test('an empty input file fails with empty_file', async () => {
  const failed = await waitFor(client, (await startChatBatch(client, dir, [])).id, ['failed']);
  expect(failed.errors?.data).toEqual([expect.objectContaining({ code: 'empty_file', line: null })]);
});

test('more requests than maxRequests fail with too_many_tasks', async () => {
  const small = await startSandbox({ rate: 500, validationMs: 20, maxRequests: 3 });
  try {
    const smallClient = clientFor(small);
    const failed = await waitFor(smallClient, (await startChatBatch(smallClient, dir, range(4).map((id) => chatLine(id)))).id, ['failed']);
    expect(failed.errors?.data?.map((e) => e.code)).toEqual(['too_many_tasks']);
  } finally {
    await small.close();
  }
});

test('the failValidation fault fails every new batch', async () => {
  sandbox.setFaults({ failValidation: true });
  const failed = await waitFor(client, (await startChatBatch(client, dir, [chatLine('x')])).id, ['failed']);
  expect(failed.errors?.data).toHaveLength(1);
  expect(failed.errors?.data?.[0]).toEqual(
    expect.objectContaining({ code: expect.any(String), line: expect.any(Number), message: expect.any(String) }),
  );
});

test('cancelling mid-run keeps the outputs so far and reports the rest as batch_cancelled', async () => {
  const slow = await startSandbox({ rate: 40, validationMs: 20, cancellingMs: 50 });
  try {
    const slowClient = clientFor(slow);
    const ids = range(40);
    const created = await startChatBatch(slowClient, dir, ids.map((id) => chatLine(id, id === 'req-1' ? { sandbox_error: 400 } : {})));
    const running = await waitFor(slowClient, created.id, ['in_progress']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cancelling = await slowClient.batches.cancel(running.id);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).not.toBeNull();

    const cancelled = await waitFor(slowClient, created.id, ['cancelled']);
    expect(cancelled.cancelled_at).not.toBeNull();
    const counts = cancelled.request_counts;
    expect(counts?.total).toBe(40);
    expect((counts?.completed ?? 0) + (counts?.failed ?? 0)).toBe(40);
    expect(counts?.completed).toBeGreaterThan(0);
    expect(counts?.completed).toBeLessThan(40);

    const output = await readLines(slowClient, cancelled.output_file_id);
    const errors = await readLines(slowClient, cancelled.error_file_id);
    expect(output).toHaveLength(counts?.completed ?? -1);
    expect(errors).toHaveLength(counts?.failed ?? -1);
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    const skipped = errors.filter((l) => l.error?.code === 'batch_cancelled');
    expect(skipped.length).toBe(40 - (counts?.completed ?? 0) - 1);
    expect(skipped[0]).toMatchObject({
      response: null,
      error: { code: 'batch_cancelled', message: 'This request was not executed because the batch was cancelled.' },
    });
    expect(slow.stats().batchCancels).toBe(1);
  } finally {
    await slow.close();
  }
});

test('cancel is idempotent while cancelling and refused once the batch is terminal', async () => {
  const created = await startChatBatch(client, dir, [chatLine('x')]);
  const first = await client.batches.cancel(created.id);
  const second = await client.batches.cancel(created.id);
  expect([first.status, second.status]).toEqual(['cancelling', 'cancelling']);
  expect(second.cancelling_at).toBe(first.cancelling_at);
  await waitFor(client, created.id, ['cancelled']);
  await expect(client.batches.cancel(created.id)).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
});

test('a batch past its expiry ends expired with batch_expired lines for the requests never run', async () => {
  const slow = await startSandbox({ rate: 20, validationMs: 20, faults: { expireAfterSeconds: 0.3 } });
  try {
    const slowClient = clientFor(slow);
    const ids = range(30);
    const created = await startChatBatch(slowClient, dir, ids.map((id) => chatLine(id)));
    const expired = await waitFor(slowClient, created.id, ['expired']);
    expect(expired.expired_at).not.toBeNull();
    const counts = expired.request_counts;
    expect(counts?.completed).toBeGreaterThan(0);
    expect((counts?.completed ?? 0) + (counts?.failed ?? 0)).toBe(30);

    const output = await readLines(slowClient, expired.output_file_id);
    const errors = await readLines(slowClient, expired.error_file_id);
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    expect(errors.every((l) => l.response === null && l.error?.code === 'batch_expired')).toBe(true);
    expect(errors[0].error?.message).toBe('This request could not be executed before the completion window expired.');
  } finally {
    await slow.close();
  }
});

test('the batch state follows an injected clock', async () => {
  let now = Date.UTC(2030, 0, 1);
  const clocked = await startSandbox({ now: () => now, rate: 10, validationMs: 1000, finalizingMs: 1000 });
  try {
    const clockClient = clientFor(clocked);
    const created = await startChatBatch(clockClient, dir, range(20).map((id) => chatLine(id)));
    expect(created.created_at).toBe(Date.UTC(2030, 0, 1) / 1000);
    expect((await clockClient.batches.retrieve(created.id)).status).toBe('validating');

    now += 1000 + 500; // validation done, 5 of 20 requests run
    const running = await clockClient.batches.retrieve(created.id);
    expect(running.status).toBe('in_progress');
    expect(running.in_progress_at).toBe(created.created_at + 1);
    expect(running.request_counts).toEqual({ total: 20, completed: 5, failed: 0 });

    now += 1500; // all 20 run after 2 s of processing
    expect((await clockClient.batches.retrieve(created.id)).status).toBe('finalizing');

    now += 1000;
    const done = await clockClient.batches.retrieve(created.id);
    expect(done.status).toBe('completed');
    expect(done.completed_at).toBe(created.created_at + 4);
    expect(clocked.stats().batchesByStatus).toEqual({ completed: 1 });
  } finally {
    await clocked.close();
  }
});

test('deleting the input file does not disturb a batch already created from it', async () => {
  const created = await startChatBatch(client, dir, range(5).map((id) => chatLine(id)));
  await client.files.delete(created.input_file_id);
  const done = await waitFor(client, created.id, ['completed']);
  expect(done.request_counts).toEqual({ total: 5, completed: 5, failed: 0 });
});

test('output_expires_after sets the expiry of the result files', async () => {
  const input = await startChatBatch(client, dir, [chatLine('x')]);
  const batch = await client.batches.create({
    input_file_id: input.input_file_id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    output_expires_after: { anchor: 'created_at', seconds: 3600 },
  });
  const done = await waitFor(client, batch.id, ['completed']);
  const output = await client.files.retrieve(done.output_file_id as string);
  expect(output.expires_at).toBe(output.created_at + 3600);
});
