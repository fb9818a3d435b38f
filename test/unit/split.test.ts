/** Splitting a staged input into parts that each fit one provider batch. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { partPath, splitInput } from '../../src/results/split';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-split-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function staged(n: number, pad = 0): string {
  const file = path.join(dir, 'ab_1.jsonl');
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `r${i}`, pad: 'x'.repeat(pad) }));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const ids = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).custom_id);

test('an input within the limits is one part: the staged file itself', async () => {
  const file = staged(10);
  expect(await splitInput(file, { maxRequests: 10, maxBytes: 1e9 })).toEqual([{ index: 0, path: file, requestCount: 10, bytes: fs.statSync(file).size }]);
  expect(fs.readdirSync(dir)).toEqual(['ab_1.jsonl']);
});

test('with the request count known, a file within both limits is its own part without being read', async () => {
  const file = staged(10);
  const size = fs.statSync(file).size;
  // The count given is trusted (validation counted it), so a wrong one shows the file was not read.
  expect(await splitInput(file, { maxRequests: 10, maxBytes: size, requestCount: 7 })).toEqual([{ index: 0, path: file, requestCount: 7, bytes: size }]);
  // Past either limit, the file is read and cut as usual.
  expect((await splitInput(file, { maxRequests: 6, maxBytes: size, requestCount: 10 })).map((p) => p.requestCount)).toEqual([6, 4]);
  expect((await splitInput(file, { maxRequests: 10, maxBytes: size - 1, requestCount: 10 })).length).toBe(2);
  // A provider that translates requests (sentBytes) is always measured line by line.
  expect(await splitInput(file, { maxRequests: 10, maxBytes: size, requestCount: 7, sentBytes: (l) => l.length + 1 })).toEqual([{ index: 0, path: file, requestCount: 10, bytes: size }]);
});

test('requests larger than the write block, and CRLF or blank lines, come out whole, one per line', async () => {
  const file = path.join(dir, 'ab_2.jsonl');
  const big = (i: number, n: number) => JSON.stringify({ custom_id: `r${i}`, pad: 'y'.repeat(n) });
  fs.writeFileSync(file, [big(0, 10), big(1, 700_000), '', big(2, 1_500_000), big(3, 20)].join('\r\n') + '\r\n');
  const parts = await splitInput(file, { maxRequests: 3, maxBytes: 1e9 });
  expect(parts.map((p) => p.requestCount)).toEqual([3, 1]);
  expect(parts.flatMap((p) => ids(p.path))).toEqual(['r0', 'r1', 'r2', 'r3']);
  const written = parts.map((p) => fs.readFileSync(p.path, 'utf8'));
  expect(written.join('')).toBe([big(0, 10), big(1, 700_000), big(2, 1_500_000), big(3, 20)].join('\n') + '\n');
  expect(parts.map((p) => p.bytes)).toEqual(written.map((w) => Buffer.byteLength(w)));
});

test('the request limit cuts parts in order, and together they hold every line once', async () => {
  const file = staged(25);
  const parts = await splitInput(file, { maxRequests: 10, maxBytes: 1e9 });
  expect(parts.map((p) => p.requestCount)).toEqual([10, 10, 5]);
  expect(parts.map((p) => p.path)).toEqual([0, 1, 2].map((i) => partPath(file, i)));
  expect(parts.flatMap((p) => ids(p.path))).toEqual(ids(file));
  expect(parts.reduce((a, p) => a + p.bytes, 0)).toBe(fs.statSync(file).size);
});

test('the byte limit counts what is sent, as the provider measures it', async () => {
  const file = staged(10, 100);
  const line = fs.readFileSync(file, 'utf8').split('\n')[0].length + 1;
  expect((await splitInput(file, { maxRequests: 100, maxBytes: line * 3 })).map((p) => p.requestCount)).toEqual([3, 3, 3, 1]);
  // A translation that doubles each request halves the part size.
  const doubled = await splitInput(file, { maxRequests: 100, maxBytes: line * 4, sentBytes: (l) => 2 * (l.length + 1) });
  expect(doubled.map((p) => p.requestCount)).toEqual([2, 2, 2, 2, 2]);
});

test('splitting again gives the same parts (a retried activity is harmless)', async () => {
  const file = staged(7);
  const first = await splitInput(file, { maxRequests: 3, maxBytes: 1e9 });
  const contents = first.map((p) => fs.readFileSync(p.path, 'utf8'));
  const second = await splitInput(file, { maxRequests: 3, maxBytes: 1e9 });
  expect(second).toEqual(first);
  expect(second.map((p) => fs.readFileSync(p.path, 'utf8'))).toEqual(contents);
  expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});

test('parts stay line-intact when writing has to wait for the disk (backpressure)', async () => {
  const file = staged(3000, 20_000); // 60 MB of 20 KB lines: far past the write buffer
  const parts = await splitInput(file, { maxRequests: 1000, maxBytes: 1e9 });
  expect(parts.map((p) => p.requestCount)).toEqual([1000, 1000, 1000]);
  const all = parts.flatMap((p) => ids(p.path));
  expect(all).toEqual(Array.from({ length: 3000 }, (_, i) => `r${i}`));
}, 60_000);

test('with a provider minimum and the count known, parts are cut evenly so none falls below it', async () => {
  const file = staged(250);
  // Full parts would be 100 + 100 + 50: under a minimum of 60. The same three parts, evened out, all hold 60 or more.
  const parts = await splitInput(file, { maxRequests: 100, maxBytes: 1e9, minRequests: 60, requestCount: 250 });
  expect(parts.map((p) => p.requestCount)).toEqual([84, 84, 82]);
  expect(parts.flatMap((p) => ids(p.path))).toEqual(ids(file));
  // Without a minimum the cut is as before (running batches' plans do not change).
  expect((await splitInput(staged(250), { maxRequests: 100, maxBytes: 1e9, requestCount: 250 })).map((p) => p.requestCount)).toEqual([100, 100, 50]);
});
