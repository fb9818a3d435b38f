/** A full-size batch (50,000 requests) streams through validation and output writing with flat memory. */
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { chatLine, clientFor, tempDir, upload, waitFor } from './helpers';

const REQUESTS = 50_000;

let sandbox: Sandbox;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 1_000_000, validationMs: 0, finalizingMs: 0 });
  dir = tempDir();
});

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a 50,000-request batch completes with every custom_id once and bounded memory', async () => {
  const input = path.join(dir, 'big.jsonl');
  const out = fs.createWriteStream(input);
  for (let i = 0; i < REQUESTS; i++) out.write(JSON.stringify(chatLine(`r${i}`)) + '\n');
  await new Promise((resolve) => out.end(resolve));
  const client = clientFor(sandbox);

  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 5);
  let outputFileId: string | null | undefined;
  try {
    const batch = await client.batches.create({ input_file_id: await upload(client, input), endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await waitFor(client, batch.id, ['completed'], 30_000);
    expect(done.request_counts).toEqual({ total: REQUESTS, completed: REQUESTS, failed: 0 });
    outputFileId = done.output_file_id;
  } finally {
    clearInterval(sampler);
  }
  expect(peak - baseline).toBeLessThan(100 * 1024 * 1024);

  const response = await client.files.content(outputFileId as string);
  const lines = createInterface({ input: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) });
  const seen = new Set<string>();
  for await (const line of lines) {
    const id = (JSON.parse(line) as { custom_id: string }).custom_id;
    expect(seen.has(id)).toBe(false);
    seen.add(id);
  }
  expect(seen.size).toBe(REQUESTS);
});
