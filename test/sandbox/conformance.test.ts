/**
 * Real sandbox responses validated against the official OpenAPI spec's schemas (`Batch`, `OpenAIFile`,
 * `ListBatchesResponse`, `ListFilesResponse`, `ErrorResponse`).
 */
import fs from 'node:fs';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import type OpenAI from 'openai';
import { parse } from 'yaml';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { chatLine, clientFor, range, startChatBatch, tempDir, waitFor } from './helpers';

const SPEC = '/work/shared/specs/openai-openapi.yaml';

let sandbox: Sandbox;
let client: OpenAI;
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
  client = clientFor(sandbox);
  dir = tempDir();
});

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

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

async function rawGet(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${sandbox.url}${path}`, { headers: { authorization: 'Bearer k' } });
  return (await res.json()) as Record<string, unknown>;
}

function expectBatch(batch: object, status: string): void {
  expect((batch as { status: string }).status).toBe(status);
  expect(Object.keys(batch)).toHaveLength(22);
  expectValid('Batch', withoutNulls(batch));
}

test('batches conform to the Batch schema in every state', async () => {
  const created = await startChatBatch(client, dir, range(40).map((id) => chatLine(id)));
  expectBatch(await rawGet(`/v1/batches/${created.id}`), 'validating');
  await waitFor(client, created.id, ['in_progress']);
  expectBatch(await rawGet(`/v1/batches/${created.id}`), 'in_progress');
  await waitFor(client, created.id, ['completed']);
  expectBatch(await rawGet(`/v1/batches/${created.id}`), 'completed');

  const bad = await startChatBatch(client, dir, ['not json']);
  await waitFor(client, bad.id, ['failed']);
  expectBatch(await rawGet(`/v1/batches/${bad.id}`), 'failed');

  const cancelled = await startChatBatch(client, dir, range(40).map((id) => chatLine(id)));
  await waitFor(client, cancelled.id, ['in_progress']);
  await client.batches.cancel(cancelled.id);
  expectBatch(await rawGet(`/v1/batches/${cancelled.id}`), 'cancelling');
  await waitFor(client, cancelled.id, ['cancelled']);
  expectBatch(await rawGet(`/v1/batches/${cancelled.id}`), 'cancelled');
});

test('files conform to OpenAIFile and ListFilesResponse', async () => {
  const created = await startChatBatch(client, dir, [chatLine('f')]);
  const file = await rawGet(`/v1/files/${created.input_file_id}`);
  expectValid('OpenAIFile', withoutNulls(file));
  const list = await rawGet('/v1/files');
  expectValid('ListFilesResponse', { ...list, data: (list.data as object[]).map(withoutNulls) });
});

test('batch lists conform to ListBatchesResponse', async () => {
  await startChatBatch(client, dir, [chatLine('l')]);
  const list = await rawGet('/v1/batches?limit=5');
  expectValid('ListBatchesResponse', { ...list, data: (list.data as object[]).map(withoutNulls) });
});

test('error bodies conform to ErrorResponse', async () => {
  for (const body of [await rawGet('/v1/batches/batch_missing'), await rawGet('/v1/batches?limit=0')]) {
    expectValid('ErrorResponse', body);
    expect(Object.keys((body as { error: object }).error).sort()).toEqual(['code', 'message', 'param', 'type']);
  }
  const unauthorized = await (await fetch(`${sandbox.url}/v1/files`)).json();
  expectValid('ErrorResponse', unauthorized);
});
