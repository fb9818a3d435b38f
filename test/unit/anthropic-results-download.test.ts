/**
 * The Anthropic adapter downloads results itself from the batch's `results_url` (not through the SDK's `results()`,
 * which holds lines whole and throws on the first unreadable one): against the in-process sandbox, results come
 * back under the caller's ids, and a download cut short is still a transient failure.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getAdapter } from '../../src/providers/registry';
import type { ProviderConnection, ProviderInput, ResultLine } from '../../src/providers/types';
import { startSandbox, type Sandbox } from '../../src/sandbox';

let sandbox: Sandbox;
let dir: string;
const adapter = getAdapter('anthropic');

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 500, validationMs: 20, cancellingMs: 20, apiKey: 'right' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anthropic-download-'));
});
afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => sandbox.setFaults({}));

const conn = (): ProviderConnection => ({ apiKey: 'right', apiBase: sandbox.baseUrls.anthropic });

function stage(name: string, ids: string[]): ProviderInput {
  const file = path.join(dir, `${name}.jsonl`);
  const lines = ids.map((id, i) =>
    JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: `q${i}` }], max_tokens: 20 } }),
  );
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return {
    path: file,
    requestCount: ids.length,
    bytes: fs.statSync(file).size,
    idempotencyKey: `ab_${name}/0`,
    notBefore: Math.floor(Date.now() / 1000) - 5,
    endpoint: '/v1/chat/completions',
    options: {},
    workDir: path.join(dir, `${name}-work`),
  };
}

async function ended(input: ProviderInput) {
  const prepared = await adapter.prepareInput(conn(), input);
  const created = await adapter.createBatch(conn(), { input, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null });
  for (let i = 0; i < 300; i++) {
    const b = await adapter.retrieveBatch(conn(), created.id);
    if (['completed', 'failed', 'expired', 'cancelled'].includes(b.status)) return b;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('not terminal');
}

async function collect(lines: AsyncIterable<ResultLine>): Promise<ResultLine[]> {
  const out: ResultLine[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

test('results come from results_url under the caller ids (remapped ones mapped back)', async () => {
  const ids = ['plain-0', 'has spaces/and#chars', 'plain-2'];
  const input = stage('ok', ids);
  const done = await ended(input);
  const lines = await collect(adapter.readResults(conn(), done, input));
  expect(lines.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
  for (const line of lines) {
    expect(line.error).toBeNull();
    expect((line.response!.body as { object: string }).object).toBe('chat.completion');
  }
});

test('a results download cut short is a transient error', async () => {
  const input = stage('cut', Array.from({ length: 40 }, (_, i) => `cut-${i}`));
  const done = await ended(input);
  sandbox.setFaults({ truncateDownloads: 1 });
  await expect(collect(adapter.readResults(conn(), done, input))).rejects.toMatchObject({ kind: 'transient' });
});
