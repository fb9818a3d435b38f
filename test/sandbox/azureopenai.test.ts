/**
 * The azureopenai module through the `openai` package's `AzureOpenAI` client (`endpoint` = `<url>/azureopenai`,
 * an `api-version`, no `deployment`, as the orchestrator builds it) and through the v1 API: a whole batch,
 * results in no guaranteed order, cancel, deployments as models, `api-version` and `api-key`, Azure's errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import OpenAI, { AzureOpenAI } from 'openai';
import { getAdapter } from '../../src/providers/registry';
import type { ProviderInput } from '../../src/providers/types';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { chatLine, range, readLines, tempDir, upload, waitFor, writeJsonl } from './helpers';

const API_VERSION = '2025-03-01-preview';
const DEPLOYMENT = 'gpt-4o-mini-global-batch';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let sandbox: Sandbox;
let azure: AzureOpenAI;
let dir: string;

function azureFor(target: Sandbox, options: { apiKey?: string; deployment?: string } = {}): AzureOpenAI {
  return new AzureOpenAI({ endpoint: target.baseUrls.azureopenai, apiKey: options.apiKey ?? 'az-key', apiVersion: API_VERSION, deployment: options.deployment, maxRetries: 0 });
}

/** A chat line whose model is the deployment's name, as Azure wants it. */
function line(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = chatLine(id, extra);
  return { ...base, body: { ...(base.body as object), model: DEPLOYMENT } };
}

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 30, finalizingMs: 20, cancellingMs: 30 });
  azure = azureFor(sandbox);
  dir = tempDir();
});

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function createWith(client: OpenAI, lines: Array<Record<string, unknown>>): Promise<OpenAI.Batches.Batch> {
  const fileId = await upload(client, writeJsonl(dir, `azure-${Date.now()}-${Math.random()}.jsonl`, lines));
  return client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
}

test('AzureOpenAI runs a batch: files.create, batches.create, retrieve until completed, list, files.content', async () => {
  const ids = range(30);
  const created = await createWith(azure, [...ids.map((id) => line(id)), line('bad', { sandbox_error: 429 })]);
  expect(created).toMatchObject({ object: 'batch', status: 'validating', endpoint: '/v1/chat/completions' });
  const done = await waitFor(azure, created.id, ['completed']);
  expect(done).toMatchObject({ model: DEPLOYMENT, request_counts: { total: 31, completed: 30, failed: 1 } });

  const output = await readLines(azure, done.output_file_id);
  expect(output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
  expect(output.every((l) => l.response?.status_code === 200 && l.response.body.model === DEPLOYMENT)).toBe(true);
  const errors = await readLines(azure, done.error_file_id);
  expect(errors.map((l) => [l.custom_id, l.response?.status_code])).toEqual([['bad', 429]]);

  const listed: string[] = [];
  for await (const batch of azure.batches.list({ limit: 2 })) listed.push(batch.id);
  expect(listed).toContain(created.id);
  expect(new Set(listed).size).toBe(listed.length);
});

test('results come in no guaranteed order: shuffled, the same on every read', async () => {
  const ids = range(20, 'o-');
  const done = await waitFor(azure, (await createWith(azure, ids.map((id) => line(id)))).id, ['completed']);
  const first = (await readLines(azure, done.output_file_id)).map((l) => l.custom_id);
  expect(first).not.toEqual(ids);
  expect([...first].sort()).toEqual([...ids].sort());
  expect((await readLines(azure, done.output_file_id)).map((l) => l.custom_id)).toEqual(first);
  // The line ids still follow the input position, so they name the request, not the place in the file.
  const lines = await readLines(azure, done.output_file_id);
  expect(new Set(lines.map((l) => l.id)).size).toBe(ids.length);
});

test('batches.cancel: what ran is delivered, the rest is batch_cancelled, each custom_id once', async () => {
  const slow = await startSandbox({ rate: 20, validationMs: 20, cancellingMs: 30 });
  try {
    const client = azureFor(slow);
    const ids = range(60);
    const batch = await createWith(client, ids.map((id) => line(id)));
    await waitFor(client, batch.id, ['in_progress']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await client.batches.cancel(batch.id)).status).toBe('cancelling');
    const cancelled = await waitFor(client, batch.id, ['cancelled']);
    const output = await readLines(client, cancelled.output_file_id);
    const errors = await readLines(client, cancelled.error_file_id);
    expect(output.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual([...ids].sort());
  } finally {
    await slow.close();
  }
});

test('any deployment name is a model by default; the models setting restricts them, failing the batch', async () => {
  const strict = await startSandbox({ validationMs: 10, faults: { models: ['dep-a'] } });
  try {
    const client = azureFor(strict);
    const fileId = await upload(client, writeJsonl(dir, 'deployments.jsonl', [line('x')]));
    const batch = await client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const failed = await waitFor(client, batch.id, ['failed', 'completed']);
    expect(failed.errors?.data?.[0]).toMatchObject({ code: 'model_not_found', param: 'body.model', line: 1 });
  } finally {
    await strict.close();
  }
});

test('POST /openai/deployments/{d}/batches creates a batch, as a client built with a deployment sends it', async () => {
  const withDeployment = azureFor(sandbox, { deployment: DEPLOYMENT });
  const fileId = await upload(azure, writeJsonl(dir, 'deployment-path.jsonl', [line('d')]));
  const before = sandbox.stats().providers.azureopenai.batchesCreated;
  const batch = await withDeployment.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
  expect(sandbox.stats().providers.azureopenai.batchesCreated).toBe(before + 1);
  expect((await waitFor(azure, batch.id, ['completed'])).request_counts?.total).toBe(1);

  const raw = await fetch(`${sandbox.baseUrls.azureopenai}/openai/deployments/any-name/batches?api-version=${API_VERSION}`, {
    method: 'POST',
    headers: { 'api-key': 'k', 'content-type': 'application/json' },
    body: JSON.stringify({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' }),
  });
  expect([raw.status, ((await raw.json()) as { object: string }).object]).toEqual([200, 'batch']);
});

test('the v1 API: the openai client at <endpoint>/openai/v1, without api-version, with a bearer or api-key', async () => {
  const v1 = new OpenAI({ baseURL: `${sandbox.baseUrls.azureopenai}/openai/v1`, apiKey: 'az-key', maxRetries: 0 });
  const done = await waitFor(v1, (await createWith(v1, [line('v1-a'), line('v1-b')])).id, ['completed']);
  expect((await readLines(v1, done.output_file_id)).map((l) => l.custom_id).sort()).toEqual(['v1-a', 'v1-b']);
  // One store behind both APIs.
  expect((await azure.batches.retrieve(done.id)).status).toBe('completed');
  const res = await fetch(`${sandbox.baseUrls.azureopenai}/openai/v1/batches`, { headers: { 'api-key': 'k' } });
  expect(res.status).toBe(200);
});

test("a classic request without api-version is Azure's 404, an unknown version its 400", async () => {
  const missing = await fetch(`${sandbox.baseUrls.azureopenai}/openai/batches`, { headers: { 'api-key': 'k' } });
  expect(missing.status).toBe(404);
  expect(await missing.json()).toEqual({ error: { code: '404', message: 'Resource not found' } });
  const unknown = await fetch(`${sandbox.baseUrls.azureopenai}/openai/batches?api-version=latest`, { headers: { 'api-key': 'k' } });
  expect(unknown.status).toBe(400);
  expect(await unknown.json()).toEqual({ error: { code: 'BadRequest', message: 'API version not supported' } });
});

test('the key is read from api-key (a bearer only on the v1 API); a missing or wrong key is a 401 in Azure\'s shape', async () => {
  const locked = await startSandbox({ apiKey: 'az-right-key' });
  try {
    const error = await azureFor(locked, { apiKey: 'az-wrong-key' }).batches.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: '401' });
    await expect(azureFor(locked, { apiKey: 'az-right-key' }).batches.list()).resolves.toBeDefined();

    const classic = `${locked.baseUrls.azureopenai}/openai/batches?api-version=${API_VERSION}`;
    const bearer = await fetch(classic, { headers: { authorization: 'Bearer az-right-key' } });
    expect(bearer.status).toBe(401);
    expect(await bearer.json()).toEqual({ error: { code: '401', message: expect.stringContaining('Access denied') } });
    const v1 = await fetch(`${locked.baseUrls.azureopenai}/openai/v1/batches`, { headers: { authorization: 'Bearer az-right-key' } });
    expect(v1.status).toBe(200);
  } finally {
    await locked.close();
  }
});

test('errors are {"error":{"code","message"}}, and the SDK classes them by status', async () => {
  const error = await azure.batches.retrieve('batch_missing').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  const res = await fetch(`${sandbox.baseUrls.azureopenai}/openai/batches/batch_missing?api-version=${API_VERSION}`, { headers: { 'api-key': 'k' } });
  expect(await res.json()).toEqual({ error: { code: '404', message: "No batch found with id 'batch_missing'." } });
  const window = await azure.batches.create({ input_file_id: 'file-x', endpoint: '/v1/chat/completions', completion_window: '48h' as '24h' }).catch((e: unknown) => e);
  expect(window).toMatchObject({ status: 400, code: 'invalid_value' });
});

test('responses carry apim-request-id and x-request-id, one uuid', async () => {
  const { response } = await azure.batches.list().withResponse();
  const id = response.headers.get('apim-request-id');
  expect(id).toMatch(UUID);
  expect(response.headers.get('x-request-id')).toBe(id);
});

describe('endpoints as Azure documents them: with or without /v1, the input file deciding the API', () => {
  const withUrl = (id: string, url: string, body: Record<string, unknown>) => ({ custom_id: id, method: 'POST', url, body: { model: DEPLOYMENT, ...body } });

  test('a file of /v1/responses lines created with endpoint "/chat/completions" runs as responses', async () => {
    const fileId = await upload(azure, writeJsonl(dir, 'azure-responses.jsonl', [withUrl('r1', '/v1/responses', { input: 'hi' }), withUrl('r2', '/responses', { input: 'yo' })]));
    const batch = await azure.batches.create({ input_file_id: fileId, endpoint: '/chat/completions' as '/v1/chat/completions', completion_window: '24h' });
    expect(batch.endpoint).toBe('/chat/completions');
    const done = await waitFor(azure, batch.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    const output = await readLines(azure, done.output_file_id);
    // The stand-in model answers endpoints other than chat completions and embeddings with an echo naming the endpoint.
    expect(output.map((l) => l.response?.body)).toEqual([expect.objectContaining({ endpoint: '/v1/responses' }), expect.objectContaining({ endpoint: '/v1/responses' })]);
  });

  test('lines naming two APIs fail the batch (url_mismatch); an endpoint Azure does not name is a 400', async () => {
    const fileId = await upload(azure, writeJsonl(dir, 'azure-mixed-apis.jsonl', [withUrl('c1', '/chat/completions', { messages: [{ role: 'user', content: 'a' }] }), withUrl('r1', '/v1/responses', { input: 'b' })]));
    const batch = await azure.batches.create({ input_file_id: fileId, endpoint: '/chat/completions' as '/v1/chat/completions', completion_window: '24h' });
    const failed = await waitFor(azure, batch.id, ['completed', 'failed']);
    expect(failed.errors?.data?.[0]).toMatchObject({ code: 'url_mismatch', line: 2 });
    const refused = await azure.batches.create({ input_file_id: fileId, endpoint: '/deployments/x/chat/completions' as '/v1/chat/completions', completion_window: '24h' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 400 });
    expect((refused as Error).message).toContain("Invalid value for 'endpoint': '/deployments/x/chat/completions'");
  });
});

describe("anybatch's Azure adapter sends what Azure documents", () => {
  /** A part of a chat batch as the activities stage it: OpenAI lines (`url: /v1/chat/completions`). */
  function part(name: string, n: number): ProviderInput {
    const file = writeJsonl(dir, `${name}.jsonl`, range(n, `${name}-`).map((id) => line(id)));
    return {
      path: file,
      requestCount: n,
      bytes: fs.statSync(file).size,
      idempotencyKey: `ab_${name}_${Date.now()}/0`,
      notBefore: Math.floor(Date.now() / 1000) - 5,
      endpoint: '/v1/chat/completions',
      options: {},
      workDir: path.join(dir, `${name}-work`),
    };
  }

  // Azure creates batches with `endpoint: "/chat/completions"` on the api-version API (Azure/azure-rest-api-specs
  // authoring/stable/2024-10-21 examples/post_batch.json; the api-version Python guide) and on the v1 API (the
  // current guide): the file decides the API. The sandbox echoes the create's endpoint, as Azure's example does.
  test.each([
    ['the api-version API (the resource endpoint)', (s: Sandbox) => s.baseUrls.azureopenai],
    ['the v1 API (<endpoint>/openai/v1)', (s: Sandbox) => `${s.baseUrls.azureopenai}/openai/v1`],
  ])('on %s a batch is created with endpoint "/chat/completions" and runs the lines as chat completions', async (_name, base) => {
    const adapter = getAdapter('azureopenai');
    const conn = { apiKey: 'az-key', apiBase: base(sandbox), options: { apiVersion: API_VERSION } };
    const input = part(`adapter-${_name.includes('v1') ? 'v1' : 'classic'}`, 3);
    const prepared = await adapter.prepareInput(conn, input);
    const created = await adapter.createBatch(conn, { input, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null });
    expect(created.endpoint).toBe('/chat/completions');
    const done = await waitFor(azure, created.id, ['completed', 'failed']);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 3, failed: 0 } });
    const output = await readLines(azure, done.output_file_id);
    expect(output.every((l) => (l.response?.body as { object?: string }).object === 'chat.completion')).toBe(true);
  });
});
