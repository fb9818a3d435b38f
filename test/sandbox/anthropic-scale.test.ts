/** A full-size Message Batch (100,000 requests) is created, processed and read back without the server holding its results. */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { anthropicFor, HEADERS, ids, request, waitEnded } from './anthropic-helpers';

const REQUESTS = 100_000;

let sandbox: Sandbox;

/** Heap in use after a full collection: what is retained, not garbage awaiting collection. */
function retainedHeap(): number {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 1_000_000 });
});

afterAll(async () => {
  await sandbox.close();
});

test('a 100,000-request batch ends with every custom_id once and its results kept on disk, not in memory', async () => {
  const client = anthropicFor(sandbox);
  const created = await client.messages.batches.create({ requests: ids(REQUESTS, 'r').map((id) => request(id)) });
  const baseline = retainedHeap();

  const ended = await waitEnded(client, created.id, 60_000);
  expect(ended.request_counts).toMatchObject({ processing: 0, succeeded: REQUESTS });
  const afterEnd = retainedHeap();

  // Read line by line, so the test itself holds only the ids.
  const res = await fetch(ended.results_url as string, { headers: HEADERS });
  const seen = new Set<string>();
  for await (const line of createInterface({ input: Readable.fromWeb(res.body as WebReadableStream<Uint8Array>) })) {
    seen.add((JSON.parse(line) as { custom_id: string }).custom_id);
  }
  expect(seen.size).toBe(REQUESTS);
  expect(afterEnd - baseline).toBeLessThan(20 * 1024 * 1024);
  // A scale test of correctness and memory, not speed: creating and reading 100,000 requests takes 80 s to over
  // 2 minutes on a busy 2-core machine, so it gets more than the suite's default timeout.
}, 300_000);
