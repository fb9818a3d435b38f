/** Shared fixtures of the sandbox tests: JSONL inputs on disk, polling and output reading through the SDK. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { Sandbox } from '../../src/sandbox';

export interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

export function clientFor(sandbox: Sandbox, options: { maxRetries?: number } = {}): OpenAI {
  return new OpenAI({ baseURL: `${sandbox.url}/v1`, apiKey: 'test-key', maxRetries: options.maxRetries ?? 2 });
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-sandbox-test-'));
}

/** One chat request line; `extra` is merged into the body. */
export function chatLine(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    custom_id: id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Say hello to ${id}` }], ...extra },
  };
}

export function writeJsonl(dir: string, name: string, lines: Array<Record<string, unknown> | string>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return file;
}

/** Uploads a file from disk as a stream, so the SDK sends a chunked multipart body. */
export async function upload(client: OpenAI, file: string): Promise<string> {
  const created = await client.files.create({ file: fs.createReadStream(file), purpose: 'batch' });
  return created.id;
}

export async function startChatBatch(client: OpenAI, dir: string, lines: Array<Record<string, unknown> | string>): Promise<Batch> {
  const fileId = await upload(client, writeJsonl(dir, `input-${Date.now()}-${Math.random()}.jsonl`, lines));
  return client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
}

export async function waitFor(client: OpenAI, batchId: string, statuses: string[], timeoutMs = 15_000): Promise<Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(batchId);
    if (statuses.includes(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} still ${batch.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function readLines(client: OpenAI, fileId: string | null | undefined): Promise<OutputLine[]> {
  if (!fileId) return [];
  const text = await (await client.files.content(fileId)).text();
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as OutputLine);
}

export function range(n: number, prefix = 'req-'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}
