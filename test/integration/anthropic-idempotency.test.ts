/**
 * Anthropic batches carry no metadata, so a create interrupted after the API accepted it is recognised by the
 * create marker: the retry adopts that batch instead of creating a second one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { anthropic } from '../../src/providers/anthropic';
import { PREPARED_INLINE, type ProviderInput } from '../../src/providers/types';
import { startSandbox } from '../../src/sandbox';
import type { Sandbox } from '../../src/sandbox';

let sandbox: Sandbox;
let dir: string;
beforeAll(async () => {
  sandbox = await startSandbox({ rate: 100 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-ant-idem-'));
});
afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function input(n: number): ProviderInput {
  const file = path.join(dir, 'ab_x.jsonl');
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `r.${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: `hi ${i}` }] } }));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return { path: file, requestCount: n, bytes: fs.statSync(file).size, idempotencyKey: 'ab_x/0', notBefore: 0, endpoint: '/v1/chat/completions', options: {}, workDir: path.join(dir, 'work') };
}

test('a retried create adopts the batch an interrupted attempt created, and a completed create is reused', async () => {
  const adapter = anthropic.createAdapter();
  const conn = { apiKey: 'k', apiBase: sandbox.url };
  const part = input(7);
  await adapter.prepareInput(conn, part);
  const request = { input: part, prepared: PREPARED_INLINE, endpoint: part.endpoint, completionWindow: '24h', metadata: null };
  const first = await adapter.createBatch(conn, request);
  expect(sandbox.stats().messageBatchesCreated).toBe(1);

  // Reused: the marker has the id.
  expect((await adapter.createBatch(conn, request)).id).toBe(first.id);

  // Interrupted: the API accepted the batch but the worker died before recording its id.
  const marker = path.join(part.workDir, 'create.json');
  const { intentAt } = JSON.parse(fs.readFileSync(marker, 'utf8')) as { intentAt: number };
  fs.writeFileSync(marker, JSON.stringify({ intentAt }));
  expect((await adapter.createBatch(conn, request)).id).toBe(first.id);
  expect(sandbox.stats().messageBatchesCreated).toBe(1);
  expect(JSON.parse(fs.readFileSync(marker, 'utf8')).batchId).toBe(first.id);
});
