/**
 * The batch clouds' modules (nebius, dashscope, moonshot, cerebras: dialects of the OpenAI emulation) through the
 * `openai` SDK, unchanged, at each module's base URL: a whole batch at each, each one's completion windows, and
 * Cerebras's differences (provider-apis-3.md section 3): `DELETE /v1/batches/{id}` cancels (no `POST .../cancel`),
 * a `queued` status between validating and in_progress, metadata holding lists of strings, at least 10 requests.
 */
import fs from 'node:fs';
import OpenAI from 'openai';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { chatLine, range, readLines, tempDir, upload, waitFor, writeJsonl } from './helpers';

let sandbox: Sandbox;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 30, finalizingMs: 20, cancellingMs: 30 });
  dir = tempDir();
});
afterAll(async () => {
  await sandbox?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const CLOUDS = {
  nebius: { path: '/nebius/v1', model: 'meta-llama/Meta-Llama-3.1-70B-Instruct', windows: { ok: ['24h'], refused: ['48h', '1d'] } },
  dashscope: { path: '/dashscope/compatible-mode/v1', model: 'qwen-plus', windows: { ok: ['24h', '36h', '336h'], refused: ['23h', '337h', '14d'] } },
  moonshot: { path: '/moonshot/v1', model: 'kimi-k2.5', windows: { ok: ['12h', '24h', '1d', '3d', '7d', '168h'], refused: ['11h', '8d', '169h'] } },
  cerebras: { path: '/cerebras/v1', model: 'llama3.1-8b', windows: { ok: ['24h'], refused: ['48h'] } },
} as const;
type Cloud = keyof typeof CLOUDS;

const clientOf = (cloud: Cloud, target: Sandbox = sandbox) => new OpenAI({ baseURL: target.baseUrls[cloud], apiKey: `${cloud}-key`, maxRetries: 0 });
const lines = (cloud: Cloud, ids: string[]) => ids.map((id) => chatLine(id, { model: CLOUDS[cloud].model }));

describe.each(Object.keys(CLOUDS) as Cloud[])('%s', (cloud) => {
  test(`serves OpenAI's Files and Batches APIs at <url>${CLOUDS[cloud].path}: a batch runs to completion`, async () => {
    expect(sandbox.baseUrls[cloud]).toBe(`${sandbox.url}${CLOUDS[cloud].path}`);
    const client = clientOf(cloud);
    const ids = range(12, `${cloud}-`);
    const before = sandbox.stats().providers[cloud]!.batchesCreated;
    const fileId = await upload(client, writeJsonl(dir, `${cloud}-run.jsonl`, lines(cloud, ids)));
    const batch = await client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(sandbox.stats().providers[cloud]!.batchesCreated).toBe(before + 1);
    const done = await waitFor(client, batch.id, ['completed', 'failed']);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 12, completed: 12, failed: 0 } });
    expect((await readLines(client, done.output_file_id)).map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    const listed: string[] = [];
    for await (const b of client.batches.list({ limit: 5 })) listed.push(b.id);
    expect(listed).toContain(batch.id);
  });

  test('its completion windows', async () => {
    const client = clientOf(cloud);
    const fileId = await upload(client, writeJsonl(dir, `${cloud}-windows.jsonl`, lines(cloud, range(10, 'w-'))));
    for (const window of CLOUDS[cloud].windows.ok) {
      await expect(client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: window as '24h' })).resolves.toMatchObject({ completion_window: window });
    }
    for (const window of CLOUDS[cloud].windows.refused) {
      await expect(client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: window as '24h' })).rejects.toMatchObject({ status: 400, param: 'completion_window' });
    }
  });
});

describe("cerebras's differences", () => {
  const client = () => clientOf('cerebras');

  test('a batch is cancelled with DELETE /v1/batches/{id}, answered with the batch, cancelling; POST .../cancel is not a route', async () => {
    const slow = await startSandbox({ rate: 20, validationMs: 20, cancellingMs: 30 });
    try {
      const c = clientOf('cerebras', slow);
      const ids = range(60);
      const fileId = await upload(c, writeJsonl(dir, 'cerebras-cancel.jsonl', lines('cerebras', ids)));
      const batch = await c.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
      await waitFor(c, batch.id, ['in_progress']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await expect(c.batches.cancel(batch.id)).rejects.toMatchObject({ status: 404 });
      const cancelling = await c.delete<OpenAI.Batches.Batch>(`/batches/${batch.id}`);
      expect(cancelling).toMatchObject({ id: batch.id, status: 'cancelling' });
      expect(slow.stats().providers.cerebras!.batchCancels).toBe(1);
      const cancelled = await waitFor(c, batch.id, ['cancelled']);
      const output = await readLines(c, cancelled.output_file_id);
      const errors = await readLines(c, cancelled.error_file_id);
      expect(output.length).toBeGreaterThan(0);
      expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
      expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    } finally {
      await slow.close();
    }
  });

  test('a validated batch waits queued (as long as its validation took) before it runs in_progress', async () => {
    const slow = await startSandbox({ rate: 500, validationMs: 300, finalizingMs: 10 });
    try {
      const c = clientOf('cerebras', slow);
      const fileId = await upload(c, writeJsonl(dir, 'cerebras-queued.jsonl', lines('cerebras', range(10))));
      const batch = await c.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const b = await c.batches.retrieve(batch.id);
        seen.add(b.status);
        if (b.status === 'completed') break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect([...seen]).toEqual(expect.arrayContaining(['validating', 'queued', 'completed']));
      expect([...seen].indexOf('queued')).toBeGreaterThan([...seen].indexOf('validating'));
    } finally {
      await slow.close();
    }
  });

  test('metadata may hold lists of strings (custom_tags), as well as strings; other providers take strings only', async () => {
    const fileId = await upload(client(), writeJsonl(dir, 'cerebras-tags.jsonl', lines('cerebras', range(10))));
    const metadata = { custom_tags: ['legal-review', 'q3'], team: 'qa' } as unknown as Record<string, string>;
    const batch = await client().batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata });
    expect(batch.metadata).toEqual({ custom_tags: ['legal-review', 'q3'], team: 'qa' });
    expect((await client().batches.retrieve(batch.id)).metadata).toEqual({ custom_tags: ['legal-review', 'q3'], team: 'qa' });
    const nebius = clientOf('nebius');
    const nebiusFile = await upload(nebius, writeJsonl(dir, 'nebius-tags.jsonl', lines('nebius', range(2))));
    await expect(nebius.batches.create({ input_file_id: nebiusFile, endpoint: '/v1/chat/completions', completion_window: '24h', metadata })).rejects.toMatchObject({ status: 400 });
  });

  test('a batch of fewer than 10 requests fails at validation; 10 run', async () => {
    const fileId = await upload(client(), writeJsonl(dir, 'cerebras-few.jsonl', lines('cerebras', range(9))));
    const batch = await client().batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const failed = await waitFor(client(), batch.id, ['failed', 'completed']);
    expect(failed.status).toBe('failed');
    expect(failed.errors?.data?.[0]).toMatchObject({ code: 'too_few_requests', line: null });
    expect(failed.errors?.data?.[0]?.message).toBe('The batch input file has 9 requests, fewer than the minimum of 10 per batch at cerebras.');
  });
});
