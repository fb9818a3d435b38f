/**
 * Every provider under its own prefix, one base-URL rule, the prefix-less aliases from before the prefixes,
 * a store per provider, and each prefix answering in its provider's dialect (errors, request ids, faults).
 */
import fs from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { sandboxBaseUrls, startSandbox, type Sandbox } from '../../src/sandbox';
import { ids, request, results, waitEnded } from './anthropic-helpers';
import { chatLine, readLines, startChatBatch, tempDir, upload, waitFor, writeJsonl } from './helpers';

const API_VERSION = '2025-03-01-preview';

let sandbox: Sandbox;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 30, finalizingMs: 20, cancellingMs: 30 });
  dir = tempDir();
});

afterEach(() => sandbox.setFaults({}));

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('base URLs follow one rule: <url>/<name> and the provider\'s own base path', () => {
  expect(sandboxBaseUrls('http://127.0.0.1:8089')).toEqual({
    openai: 'http://127.0.0.1:8089/openai/v1',
    anthropic: 'http://127.0.0.1:8089/anthropic',
    groq: 'http://127.0.0.1:8089/groq/openai/v1',
    azureopenai: 'http://127.0.0.1:8089/azureopenai',
    xai: 'http://127.0.0.1:8089/xai/v1',
    gemini: 'http://127.0.0.1:8089/gemini',
    mistral: 'http://127.0.0.1:8089/mistral',
    together: 'http://127.0.0.1:8089/together/v1',
    nebius: 'http://127.0.0.1:8089/nebius/v1',
    dashscope: 'http://127.0.0.1:8089/dashscope/compatible-mode/v1',
    moonshot: 'http://127.0.0.1:8089/moonshot/v1',
    cerebras: 'http://127.0.0.1:8089/cerebras/v1',
    bedrock: 'http://127.0.0.1:8089/bedrock',
    gcs: 'http://127.0.0.1:8089/gcs',
    vertexai: 'http://127.0.0.1:8089/vertexai',
  });
  expect(sandbox.baseUrls).toEqual(sandboxBaseUrls(sandbox.url));
});

test('OpenAI answers at /openai/v1 and at the prefix-less /v1 alike, from one store', async () => {
  const prefixed = new OpenAI({ baseURL: sandbox.baseUrls.openai, apiKey: 'k', maxRetries: 0 });
  const alias = new OpenAI({ baseURL: `${sandbox.url}/v1`, apiKey: 'k', maxRetries: 0 });
  const batch = await startChatBatch(alias, dir, [chatLine('p1'), chatLine('p2')]);
  const done = await waitFor(prefixed, batch.id, ['completed']);
  expect((await readLines(prefixed, done.output_file_id)).map((l) => l.custom_id)).toEqual(['p1', 'p2']);
  expect(await alias.files.retrieve(batch.input_file_id)).toEqual(await prefixed.files.retrieve(batch.input_file_id));
});

test('Anthropic answers at /anthropic and at the prefix-less /v1/messages; results_url names the mount used', async () => {
  const prefixed = new Anthropic({ baseURL: sandbox.baseUrls.anthropic, apiKey: 'x', maxRetries: 0 });
  const alias = new Anthropic({ baseURL: sandbox.url, apiKey: 'x', maxRetries: 0 });
  const created = await prefixed.messages.batches.create({ requests: ids(3).map((id) => request(id)) });
  const ended = await waitEnded(prefixed, created.id);
  expect(ended.results_url).toBe(`${sandbox.baseUrls.anthropic}/v1/messages/batches/${created.id}/results`);
  expect((await alias.messages.batches.retrieve(created.id)).results_url).toBe(`${sandbox.url}/v1/messages/batches/${created.id}/results`);
  const viaPrefix = (await results(prefixed, created.id)).map((l) => l.custom_id).sort();
  expect(viaPrefix).toEqual(ids(3).sort());
  expect((await results(alias, created.id)).map((l) => l.custom_id).sort()).toEqual(viaPrefix);
  const listed = await prefixed.messages.batches.list();
  expect(listed.data.find((b) => b.id === created.id)?.results_url).toBe(ended.results_url);
});

test('each provider keeps its own files and batches', async () => {
  const openai = new OpenAI({ baseURL: sandbox.baseUrls.openai, apiKey: 'k', maxRetries: 0 });
  const groq = new OpenAI({ baseURL: sandbox.baseUrls.groq, apiKey: 'k', maxRetries: 0 });
  const fileId = await upload(openai, writeJsonl(dir, 'mine.jsonl', [chatLine('m')]));
  await expect(groq.files.retrieve(fileId)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  await expect(openai.files.retrieve(fileId)).resolves.toMatchObject({ id: fileId });
});

test("a path no route serves is a 404 in that provider's shape, with its request id header", async () => {
  const openai = await fetch(`${sandbox.baseUrls.openai}/assistants`, { headers: { authorization: 'Bearer k' } });
  expect([openai.status, await openai.json()]).toEqual([404, { error: { message: 'Invalid URL (GET /openai/v1/assistants)', type: 'invalid_request_error', param: null, code: null } }]);
  expect(openai.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);

  const groq = await fetch(`${sandbox.baseUrls.groq}/assistants`, { headers: { authorization: 'Bearer k' } });
  expect(groq.status).toBe(404);
  expect(groq.headers.get('x-request-id')).toMatch(/^req_01/);

  const anthropic = await fetch(`${sandbox.baseUrls.anthropic}/v1/models`, { headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' } });
  const anthropicBody = (await anthropic.json()) as { type: string; error: { type: string }; request_id: string };
  expect([anthropic.status, anthropicBody.type, anthropicBody.error.type]).toEqual([404, 'error', 'not_found_error']);
  expect(anthropic.headers.get('request-id')).toBe(anthropicBody.request_id);

  const azure = await fetch(`${sandbox.baseUrls.azureopenai}/openai/assistants?api-version=${API_VERSION}`, { headers: { 'api-key': 'k' } });
  expect([azure.status, await azure.json()]).toEqual([404, { error: { code: '404', message: 'Invalid URL (GET /azureopenai/openai/assistants)' } }]);
  expect(azure.headers.get('apim-request-id')).not.toBeNull();

  const nowhere = await fetch(`${sandbox.url}/nowhere`);
  expect([nowhere.status, ((await nowhere.json()) as { error: { type: string } }).error.type]).toEqual([404, 'invalid_request_error']);
});

test("injected faults reach every prefix, each rendered in its provider's shape", async () => {
  sandbox.setFaults({ forceStatus: 429, retryAfterSeconds: 4 });
  const cases: Array<[string, Record<string, string>, (body: unknown) => void]> = [
    [`${sandbox.baseUrls.openai}/batches`, { authorization: 'Bearer k' }, (b) => expect(b).toMatchObject({ error: { code: 'rate_limit_exceeded', type: 'rate_limit_exceeded' } })],
    [`${sandbox.baseUrls.groq}/batches`, { authorization: 'Bearer k' }, (b) => expect(b).toMatchObject({ error: { code: 'rate_limit_exceeded' } })],
    [`${sandbox.baseUrls.anthropic}/v1/messages/batches`, {}, (b) => expect(b).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } })],
    [`${sandbox.baseUrls.azureopenai}/openai/batches`, {}, (b) => expect(Object.keys((b as { error: object }).error).sort()).toEqual(['code', 'message'])],
  ];
  for (const [url, headers, check] of cases) {
    const res = await fetch(url, { headers });
    expect([res.status, res.headers.get('retry-after')]).toEqual([429, '4']);
    check(await res.json());
  }
});

test('stats count per provider, and the OpenAI-format providers add up in the top-level counters', async () => {
  const counted = await startSandbox({ validationMs: 10, finalizingMs: 10 });
  try {
    for (const [name, client] of [
      ['openai', new OpenAI({ baseURL: counted.baseUrls.openai, apiKey: 'k', maxRetries: 0 })],
      ['groq', new OpenAI({ baseURL: counted.baseUrls.groq, apiKey: 'k', maxRetries: 0 })],
      ['azureopenai', new OpenAI({ baseURL: `${counted.baseUrls.azureopenai}/openai/v1`, apiKey: 'k', maxRetries: 0 })],
    ] as const) {
      await waitFor(client, (await startChatBatch(client, dir, [chatLine(name)])).id, ['completed']);
    }
    const stats = counted.stats();
    for (const name of ['openai', 'groq', 'azureopenai']) expect(stats.providers[name]).toMatchObject({ filesCreated: 1, batchesCreated: 1, batchCancels: 0 });
    expect(stats).toMatchObject({ filesCreated: 3, batchesCreated: 3, messageBatchesCreated: 0 });
    expect(stats.batchesByStatus).toEqual({ completed: 1, 'groq:completed': 1, 'azureopenai:completed': 1 });
  } finally {
    await counted.close();
  }
});
