/**
 * The `loseCreateResponses` fault: a create is carried out (the batch exists, is listed and runs) and then its answer
 * is lost, as a reset connection or a 5xx; it counts down. What every provider's adapter does about it is in
 * test/security/creates.test.ts; here, what a raw client sees.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { SandboxSettingError, startSandbox, type Sandbox } from '../../src/sandbox';
import { chatLine } from './helpers';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 10, finalizingMs: 10 });
});
afterEach(() => sandbox.setFaults({}));
afterAll(() => sandbox.close());

function openai(): OpenAI {
  return new OpenAI({ baseURL: sandbox.baseUrls.openai, apiKey: 'k', maxRetries: 0 });
}

async function inputFile(client: OpenAI, ids: string[]): Promise<string> {
  const body = Buffer.from(ids.map((id) => JSON.stringify(chatLine(id))).join('\n') + '\n');
  return (await client.files.create({ file: await toFile(body, 'lost.jsonl'), purpose: 'batch' })).id;
}

test('the next n creates are made, their answers lost as a reset connection; then creates answer again', async () => {
  const client = openai();
  const fileId = await inputFile(client, ['a', 'b']);
  const before = sandbox.stats();
  sandbox.setFaults({ loseCreateResponses: 2 });
  const create = () => client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { n: String(Math.random()) } });
  await expect(create()).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
  await expect(create()).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
  const third = await create();
  const after = sandbox.stats();
  expect(after.batchesCreated - before.batchesCreated).toBe(3);
  expect(after.faults.lostCreates - before.faults.lostCreates).toBe(2);
  // The lost ones exist: listed, with the file they were made from.
  const listed = (await client.batches.list({ limit: 3 })).data;
  expect(listed.map((b) => b.id)).toContain(third.id);
  expect(listed.filter((b) => b.input_file_id === fileId)).toHaveLength(3);
});

test('lostCreateStatus answers that 5xx, in the provider shape, instead of resetting', async () => {
  const client = new Anthropic({ baseURL: sandbox.baseUrls.anthropic, apiKey: 'k', maxRetries: 0 });
  const before = sandbox.stats().messageBatchesCreated;
  sandbox.setFaults({ loseCreateResponses: 1, lostCreateStatus: 503 });
  const err = await client.messages.batches
    .create({ requests: [{ custom_id: 'x', params: { model: 'claude-sandbox-1', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] } }] })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Anthropic.APIError);
  expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(503);
  expect(JSON.stringify((err as InstanceType<typeof Anthropic.APIError>).error)).toMatch(/"type":"error".*loseCreateResponses/);
  expect(sandbox.stats().messageBatchesCreated).toBe(before + 1);
  const [newest] = (await client.messages.batches.list({ limit: 1 })).data;
  const { processing, succeeded } = newest.request_counts;
  expect(processing + succeeded).toBe(1);
});

test('only creates lose their answers: other calls go through while the count lasts', async () => {
  const client = openai();
  sandbox.setFaults({ loseCreateResponses: 1 });
  const fileId = await inputFile(client, ['c']);
  expect(Array.isArray((await client.batches.list({ limit: 1 })).data)).toBe(true);
  await expect(client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
});

test('the settings are checked', async () => {
  expect(() => sandbox.setFaults({ loseCreateResponses: -1 })).toThrow(SandboxSettingError);
  expect(() => sandbox.setFaults({ loseCreateResponses: 1.5 })).toThrow(SandboxSettingError);
  expect(() => sandbox.setFaults({ lostCreateStatus: 404 })).toThrow(/server error status/);
  const res = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify({ loseCreateResponses: 3, lostCreateStatus: 500 }) });
  expect(((await res.json()) as { faults: unknown }).faults).toEqual({ loseCreateResponses: 3, lostCreateStatus: 500 });
});
