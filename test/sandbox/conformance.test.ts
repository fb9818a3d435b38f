/**
 * Real sandbox responses validated against the official OpenAPI spec's schemas (`Batch`, `OpenAIFile`,
 * `ListBatchesResponse`, `ListFilesResponse`, `ErrorResponse`), from a trimmed copy committed beside the
 * tests (test/fixtures/openai-openapi.trimmed.yaml; its header says where it comes from), for every provider
 * module speaking OpenAI's Files and Batches API: OpenAI (at its prefix and the prefix-less alias), Groq and
 * Azure OpenAI (classic and v1), each with its own differences (Groq's list, Azure's error shape).
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import OpenAI, { AzureOpenAI } from 'openai';
import { parse } from 'yaml';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { chatLine, range, startChatBatch, tempDir, waitFor } from './helpers';

const SPEC = path.join(__dirname, '..', 'fixtures', 'openai-openapi.trimmed.yaml');
const API_VERSION = '2025-03-01-preview';

let sandbox: Sandbox;
let dir: string;
let schema: (name: string) => ValidateFunction;

beforeAll(async () => {
  const spec = parse(fs.readFileSync(SPEC, 'utf8')) as { components: Record<string, unknown> };
  // The spec uses x-* annotations and formats like `unixtime` that ajv does not know; they carry no constraint.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'openai', components: spec.components });
  schema = (name) => {
    const validate = ajv.getSchema(`openai#/components/schemas/${name}`);
    if (!validate) throw new Error(`no schema ${name}`);
    return validate;
  };
  sandbox = await startSandbox({ rate: 100, validationMs: 80, finalizingMs: 80, cancellingMs: 80 });
  dir = tempDir();
});

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Target {
  name: string;
  /** The official client, set up for this provider. */
  client(): OpenAI;
  /** Absolute URL of an API path (`/batches`), with whatever query the provider requires. */
  url(apiPath: string): string;
  headers: Record<string, string>;
  /** Groq's batch list has neither cursors nor `has_more`. */
  pagedBatchList: boolean;
  /** Azure answers errors as `{"error":{"code","message"}}`, not OpenAI's `ErrorResponse`. */
  azureErrors: boolean;
}

function withQuery(url: string, query: string): string {
  return query === '' ? url : `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

const TARGETS: Target[] = [
  {
    name: 'openai (prefix-less /v1 alias)',
    client: () => new OpenAI({ baseURL: `${sandbox.url}/v1`, apiKey: 'test-key' }),
    url: (p) => `${sandbox.url}/v1${p}`,
    headers: { authorization: 'Bearer k' },
    pagedBatchList: true,
    azureErrors: false,
  },
  {
    name: 'openai',
    client: () => new OpenAI({ baseURL: sandbox.baseUrls.openai, apiKey: 'test-key' }),
    url: (p) => `${sandbox.baseUrls.openai}${p}`,
    headers: { authorization: 'Bearer k' },
    pagedBatchList: true,
    azureErrors: false,
  },
  {
    name: 'groq',
    client: () => new OpenAI({ baseURL: sandbox.baseUrls.groq, apiKey: 'gsk-test' }),
    url: (p) => `${sandbox.baseUrls.groq}${p}`,
    headers: { authorization: 'Bearer k' },
    pagedBatchList: false,
    azureErrors: false,
  },
  {
    name: 'azureopenai',
    client: () => new AzureOpenAI({ endpoint: sandbox.baseUrls.azureopenai, apiKey: 'az-key', apiVersion: API_VERSION }),
    url: (p) => withQuery(`${sandbox.baseUrls.azureopenai}/openai${p}`, `api-version=${API_VERSION}`),
    headers: { 'api-key': 'k' },
    pagedBatchList: true,
    azureErrors: true,
  },
  {
    name: 'azureopenai (v1 API)',
    client: () => new OpenAI({ baseURL: `${sandbox.baseUrls.azureopenai}/openai/v1`, apiKey: 'az-key' }),
    url: (p) => `${sandbox.baseUrls.azureopenai}/openai/v1${p}`,
    headers: { 'api-key': 'k' },
    pagedBatchList: true,
    azureErrors: true,
  },
];

/**
 * The spec declares optional keys without `null`, yet its own examples (and the real API) send unset keys
 * as null. Top-level nulls are therefore dropped before validation; that every key is present is asserted apart.
 */
function withoutNulls(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

function expectValid(name: string, value: unknown): void {
  const validate = schema(name);
  const ok = validate(value);
  if (!ok) throw new Error(`${name} invalid: ${JSON.stringify(validate.errors, null, 2)}\n${JSON.stringify(value, null, 2)}`);
}

function expectBatch(batch: object, status: string): void {
  expect((batch as { status: string }).status).toBe(status);
  expect(Object.keys(batch)).toHaveLength(22);
  expectValid('Batch', withoutNulls(batch));
}

describe.each(TARGETS)('$name', (target) => {
  let client: OpenAI;

  beforeAll(() => {
    client = target.client();
  });

  async function rawGet(apiPath: string, headers = target.headers): Promise<Record<string, unknown>> {
    const res = await fetch(target.url(apiPath), { headers });
    return (await res.json()) as Record<string, unknown>;
  }

  test('batches conform to the Batch schema in every state', async () => {
    const created = await startChatBatch(client, dir, range(40).map((id) => chatLine(id)));
    expectBatch(await rawGet(`/batches/${created.id}`), 'validating');
    await waitFor(client, created.id, ['in_progress']);
    expectBatch(await rawGet(`/batches/${created.id}`), 'in_progress');
    await waitFor(client, created.id, ['completed']);
    expectBatch(await rawGet(`/batches/${created.id}`), 'completed');

    const bad = await startChatBatch(client, dir, ['not json']);
    await waitFor(client, bad.id, ['failed']);
    expectBatch(await rawGet(`/batches/${bad.id}`), 'failed');

    const cancelled = await startChatBatch(client, dir, range(40).map((id) => chatLine(id)));
    await waitFor(client, cancelled.id, ['in_progress']);
    await client.batches.cancel(cancelled.id);
    expectBatch(await rawGet(`/batches/${cancelled.id}`), 'cancelling');
    await waitFor(client, cancelled.id, ['cancelled']);
    expectBatch(await rawGet(`/batches/${cancelled.id}`), 'cancelled');
  });

  test('files conform to OpenAIFile and ListFilesResponse', async () => {
    const created = await startChatBatch(client, dir, [chatLine('f')]);
    const file = await rawGet(`/files/${created.input_file_id}`);
    expectValid('OpenAIFile', withoutNulls(file));
    const list = await rawGet('/files');
    expectValid('ListFilesResponse', { ...list, data: (list.data as object[]).map(withoutNulls) });
  });

  test('batch lists conform to ListBatchesResponse', async () => {
    await startChatBatch(client, dir, [chatLine('l')]);
    const list = await rawGet('/batches?limit=5');
    if (target.pagedBatchList) {
      expectValid('ListBatchesResponse', { ...list, data: (list.data as object[]).map(withoutNulls) });
    } else {
      // Groq's list is `{object, data}`; the SDK reads a missing has_more as false, and so does this check.
      expect(Object.keys(list).sort()).toEqual(['data', 'object']);
      expectValid('ListBatchesResponse', { ...list, has_more: false, data: (list.data as object[]).map(withoutNulls) });
    }
  });

  test('error bodies conform to ErrorResponse (Azure: its own {error: {code, message}})', async () => {
    const bodies = [await rawGet('/batches/batch_missing'), await rawGet('/batches?limit=0'), await rawGet('/files', {})];
    if (!target.pagedBatchList) bodies.splice(1, 1); // Groq's list takes no limit, so nothing to refuse
    for (const body of bodies) {
      if (target.azureErrors) {
        expect(Object.keys((body as { error: object }).error).sort()).toEqual(['code', 'message']);
        expect(body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
        continue;
      }
      expectValid('ErrorResponse', body);
      expect(Object.keys((body as { error: object }).error).sort()).toEqual(['code', 'message', 'param', 'type']);
    }
  });
});
