/**
 * The gateway (`anybatch serve`, src/gateway) driven by the official OpenAI Node SDK, unchanged, against the run's
 * Temporal server and the sandbox (the worker finds each provider's base URL in OPENAI_BASE_URL, ANTHROPIC_BASE_URL,
 * as it does for any batch): the whole flow for openai and for anthropic (OpenAI chat lines under /anthropic/v1 come
 * back as chat.completion lines), cancel with partial results, list paging, a bad line refused by the upload, a wrong
 * or missing key, tenant isolation (open mode and a keys file), anybatch options through metadata, and a gateway
 * restarted mid-batch. Every gateway batch is an anybatch batch the library sees.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import { retrieveBatch } from '../../src';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway';
import { openStore } from '../../src/storage';
import { startTestEnv, writeChatInput, type TestEnv } from '../support/env';

let env: TestEnv;
let gateway: Gateway;
let base: string;

async function startGateway(options: GatewayOptions = {}): Promise<{ gateway: Gateway; base: string }> {
  const g = createGateway({ client: env.options, defaultProvider: 'openai', batchDefaults: { pollInterval: '200ms' }, ...options });
  await new Promise<void>((resolve) => g.server.listen(0, '127.0.0.1', resolve));
  return { gateway: g, base: `http://127.0.0.1:${(g.server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  env = await startTestEnv();
  process.env.OPENAI_BASE_URL = env.sandbox.baseUrls.openai;
  process.env.ANTHROPIC_BASE_URL = env.sandbox.baseUrls.anthropic;
  ({ gateway, base } = await startGateway());
});
afterAll(async () => {
  await gateway?.close();
  delete process.env.OPENAI_BASE_URL;
  delete process.env.ANTHROPIC_BASE_URL;
  await env?.teardown();
});
afterEach(() => env.sandbox.setFaults({}));

const client = (key: string, prefix = '/v1', at = base) => new OpenAI({ apiKey: key, baseURL: `${at}${prefix}`, maxRetries: 0 });
const TERMINAL = ['completed', 'failed', 'expired', 'cancelled'];

async function untilTerminal(openai: OpenAI, id: string, timeoutMs = 60_000): Promise<OpenAI.Batches.Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await openai.batches.retrieve(id);
    if (TERMINAL.includes(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function upload(openai: OpenAI, n: number, model: string, prefix = 'req'): Promise<OpenAI.Files.FileObject> {
  const file = writeChatInput(env.home, n, { prefix, model });
  return openai.files.create({ file: fs.createReadStream(file), purpose: 'batch' });
}

async function lines(openai: OpenAI, fileId: string | null | undefined): Promise<Array<{ custom_id: string; response: { status_code: number; body: Record<string, unknown> } | null; error: { code: string } | null }>> {
  if (!fileId) return [];
  const text = await (await openai.files.content(fileId)).text();
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

test('openai through /v1: upload, create, retrieve until completed, the output file; the batch is an anybatch batch', async () => {
  const openai = client('sk-gateway-openai-1');
  const file = await upload(openai, 25, 'gpt-4o-mini');
  expect(file).toMatchObject({ object: 'file', purpose: 'batch', status: 'processed', bytes: expect.any(Number) });
  expect(await openai.files.retrieve(file.id)).toMatchObject({ id: file.id, bytes: file.bytes });
  const created = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { team: 'qa' } });
  expect(created.id).toMatch(/^ab_/);
  const done = await untilTerminal(openai, created.id);
  expect(done).toMatchObject({ status: 'completed', input_file_id: file.id, request_counts: { total: 25, completed: 25, failed: 0 }, metadata: { team: 'qa' } });
  expect(done.error_file_id ?? null).toBeNull();
  const output = await lines(openai, done.output_file_id);
  expect(output.map((l) => l.custom_id).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `req-${i}`).sort());
  expect(output[0].response!.body).toMatchObject({ object: 'chat.completion' });
  expect(await openai.files.retrieve(done.output_file_id!)).toMatchObject({ id: done.output_file_id, purpose: 'batch_output' });
  // The library, the CLI and the Web UI see the same batch.
  expect(await retrieveBatch('openai', created.id, env.options)).toMatchObject({ status: 'completed', metadata: { team: 'qa' } });
});

test('anthropic through /anthropic/v1: OpenAI chat lines in, chat.completion lines out', async () => {
  const openai = client('sk-ant-gateway-1', '/anthropic/v1');
  const file = await upload(openai, 12, 'claude-sonnet-4-5', 'ant');
  const created = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const done = await untilTerminal(openai, created.id);
  expect(done).toMatchObject({ status: 'completed', request_counts: { total: 12, completed: 12, failed: 0 } });
  const output = await lines(openai, done.output_file_id);
  expect(output.find((l) => l.custom_id === 'ant-4')!.response!.body).toMatchObject({
    object: 'chat.completion',
    choices: [{ message: { content: 'Sandbox reply to: Question number 4: what is 4 + 4?' } }],
  });
  // A batch under one provider's path is not visible under another's.
  await expect(client('sk-ant-gateway-1').batches.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
});

test('cancel mid-run: partial results, batch_cancelled lines for the rest', async () => {
  const openai = client('sk-gateway-openai-1');
  const file = await upload(openai, 2000, 'gpt-4o-mini', 'cc');
  const created = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  for (let b = await openai.batches.retrieve(created.id); (b.request_counts?.completed ?? 0) === 0; b = await openai.batches.retrieve(created.id)) await new Promise((r) => setTimeout(r, 100));
  expect((await openai.batches.cancel(created.id)).status).toMatch(/cancelling|cancelled/);
  const done = await untilTerminal(openai, created.id);
  expect(done.status).toBe('cancelled');
  const output = await lines(openai, done.output_file_id);
  const errors = await lines(openai, done.error_file_id);
  expect(output.length).toBeGreaterThan(0);
  expect(errors.length).toBeGreaterThan(0);
  expect(output.length + errors.length).toBe(2000);
  expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
});

test('a bad line is refused by the upload itself (400, naming the line); a wrong or missing key is a 401', async () => {
  const openai = client('sk-gateway-openai-1');
  const file = path.join(env.home, 'bad.jsonl');
  fs.writeFileSync(file, JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [] } }) + '\n{not json\n');
  const err = await openai.files.create({ file: await toFile(fs.createReadStream(file), 'bad.jsonl'), purpose: 'batch' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  expect((err as Error).message).toMatch(/line 2/);
  const noKey = await fetch(`${base}/v1/batches`).then((r) => r.status);
  expect(noKey).toBe(401);
  // The health route needs no key (compose's healthcheck).
  expect(await fetch(`${base}/healthz`).then((r) => r.json())).toEqual({ status: 'ok' });
});

test("open mode: a caller sees only what its key made (another key's batch or file is a 404, as if it did not exist); list pages", async () => {
  const mine = client('sk-tenant-isolation-a');
  const theirs = client('sk-tenant-isolation-b');
  const ids: string[] = [];
  const file = await upload(mine, 3, 'gpt-4o-mini', 'iso');
  for (let i = 0; i < 3; i++) ids.push((await mine.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
  await expect(theirs.batches.retrieve(ids[0])).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  await expect(theirs.batches.cancel(ids[0])).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  await expect(theirs.files.retrieve(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  expect((await theirs.batches.list()).data.map((b) => b.id)).not.toEqual(expect.arrayContaining([ids[0]]));
  // Newest first, two a page: the SDK's auto-paging follows `after` to the end.
  const first = await mine.batches.list({ limit: 2 });
  expect(first.data.map((b) => b.id)).toEqual([ids[2], ids[1]]);
  expect(first.has_more).toBe(true);
  const all: string[] = [];
  for await (const b of mine.batches.list({ limit: 2 })) all.push(b.id);
  expect(all).toEqual([...ids].reverse());
});

test('a batch gone from Temporal (retention) is skipped by the list, which reads on: no short or empty page while more follow', async () => {
  const mine = client('sk-retention-gone-a');
  const file = await upload(mine, 2, 'gpt-4o-mini', 'gone');
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) ids.push((await mine.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
  // What the namespace's retention leaves: the gateway's markers of a batch whose workflow is gone. One is put between
  // the two batches' markers (same order as the newer one, an id after it), as a batch Temporal no longer has.
  const store = openStore();
  const markers: string[] = [];
  for await (const entry of store.list('gateway/openai/')) if (entry.key.endsWith(`-${ids[1]}`) && entry.key.includes('/batches/')) markers.push(entry.key);
  expect(markers).toHaveLength(1);
  const newer = markers[0]!;
  const root = newer.slice(0, newer.indexOf('/batches/') + 1);
  const order = newer.slice(newer.lastIndexOf('/') + 1, newer.lastIndexOf('-'));
  const gone = `ab_zzz${crypto.randomBytes(8).toString('hex')}`;
  await store.put(`${root}batches/${order}-${gone}`, gone);
  await store.put(`${root}batch-ids/${gone}.json`, JSON.stringify({ order: `${order}-${gone}`, input_file_id: file.id }));

  const first = await mine.batches.list({ limit: 1 });
  expect(first.data.map((b) => b.id)).toEqual([ids[1]]);
  expect(first.has_more).toBe(true);
  const second = await mine.batches.list({ limit: 1, after: ids[1] });
  expect(second.data.map((b) => b.id)).toEqual([ids[0]]);
  expect(second.has_more).toBe(false);
  const all: string[] = [];
  for await (const b of mine.batches.list({ limit: 1 })) all.push(b.id);
  expect(all).toEqual([ids[1], ids[0]]);
  await expect(mine.batches.retrieve(gone)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
});

test('a keys file: the gateway holds the provider credentials, tenants are isolated, unknown keys refused; options through metadata', async () => {
  const keyed = await startGateway({
    keys: [
      { key: 'gw-key-tenant-a-0123456789', tenant: 'team-a', providers: { openai: { apiKey: 'sk-held-by-gateway' } } },
      { key: 'gw-key-tenant-b-0123456789', tenant: 'team-b' },
    ],
  });
  try {
    const a = client('gw-key-tenant-a-0123456789', '/v1', keyed.base);
    const b = client('gw-key-tenant-b-0123456789', '/v1', keyed.base);
    await expect(client('sk-not-issued-here-0000', '/v1', keyed.base).batches.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const file = await upload(a, 30, 'gpt-4o-mini', 'split');
    const created = await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { anybatch_max_requests_per_part: '10', team: 'a' } });
    const done = await untilTerminal(a, created.id);
    expect(done).toMatchObject({ status: 'completed', metadata: { team: 'a' }, request_counts: { total: 30, completed: 30, failed: 0 } });
    // The option reached anybatch: three provider batches of 10.
    expect((done as unknown as { anybatch: { provider_batches: unknown[] } }).anybatch.provider_batches).toHaveLength(3);
    await expect(b.batches.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    // A misspelt option is refused, not ignored.
    const refused = await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { anybatch_max_request_per_part: '10' } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as Error).message).toContain('anybatch_max_request_per_part');
  } finally {
    await keyed.gateway.close();
  }
});

test('a gateway restarted mid-batch loses nothing: another instance serves the same batch to completion', async () => {
  const openai = client('sk-gateway-restart');
  const file = await upload(openai, 400, 'gpt-4o-mini', 'rs');
  const created = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  await gateway.close();
  ({ gateway, base } = await startGateway());
  const again = client('sk-gateway-restart');
  const done = await untilTerminal(again, created.id);
  expect(done.status).toBe('completed');
  expect((await lines(again, done.output_file_id)).length).toBe(400);
});

test('the official Python openai SDK runs the whole flow against the gateway, unchanged', async () => {
  const { lastJson, runPython } = await import('../support/python');
  const input = writeChatInput(env.home, 8, { prefix: 'py', model: 'gpt-4o-mini' });
  const script = `
import json, os, time
from openai import OpenAI
client = OpenAI(base_url=os.environ["GATEWAY"] + "/v1", api_key="sk-python-caller", max_retries=0)
uploaded = client.files.create(file=open(os.environ["INPUT"], "rb"), purpose="batch")
batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
deadline = time.time() + 60
while batch.status not in ("completed", "failed", "expired", "cancelled"):
    if time.time() > deadline:
        raise SystemExit("batch still " + batch.status)
    time.sleep(0.2)
    batch = client.batches.retrieve(batch.id)
output = client.files.content(batch.output_file_id).text
listed = [b.id for b in client.batches.list(limit=10)]
print(json.dumps({"status": batch.status, "id": batch.id, "listed": listed, "ids": sorted(json.loads(l)["custom_id"] for l in output.splitlines() if l)}))
`;
  const run = await runPython(script, { modules: ['openai'], env: { GATEWAY: base, INPUT: input } });
  const result = lastJson<{ status: string; id: string; listed: string[]; ids: string[] }>(run.stdout);
  expect(result.status).toBe('completed');
  expect(result.listed).toContain(result.id);
  expect(result.ids).toEqual(Array.from({ length: 8 }, (_, i) => `py-${i}`).sort());
});
