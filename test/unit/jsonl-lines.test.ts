/** splitLines against a plain reference, over many ways of cutting the same bytes into chunks. */
import { splitLines } from '../../src/results/jsonl';

function reference(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[lines.length - 1] === '') lines.pop(); // a final newline ends the last line, it does not start one
  return lines;
}

async function split(bytes: Buffer, cuts: number[]): Promise<string[]> {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(at, cut));
    at = cut;
  }
  const lines: string[] = [];
  const stream = (async function* () {
    yield* chunks;
  })();
  for await (const line of splitLines(stream)) lines.push(line.toString('utf8'));
  return lines;
}

function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const samples = [
  '{"a":1}\n{"b":2}\n',
  '{"a":1}\r\n{"b":2}\r\n',
  '{"a":1}\n\n\r\n{"b":"東京 café"}',
  '\n\n',
  'no newline at all',
  'ends with cr\r',
  '',
];

test.each(samples)('every chunking of %j gives the reference lines', async (text) => {
  const bytes = Buffer.from(text);
  const expected = reference(text).filter((l, i, all) => !(i === all.length - 1 && l === '' && !text.endsWith('\n')));
  // Every single cut point, then many random multi-cut chunkings (including empty chunks).
  for (let cut = 0; cut <= bytes.length; cut++) expect(await split(bytes, [cut])).toEqual(expected);
  const next = random(bytes.length + 1);
  for (let round = 0; round < 50; round++) {
    const cuts = Array.from({ length: 1 + Math.floor(next() * 6) }, () => Math.floor(next() * (bytes.length + 1))).sort((a, b) => a - b);
    expect(await split(bytes, cuts)).toEqual(expected);
  }
});

test('lines stay whole when every chunk arrives in one reused buffer', async () => {
  const text = ['{"a":1}', 'x'.repeat(5000), '', 'tail'].join('\r\n');
  const source = Buffer.from(text);
  for (const size of [1, 7, 64, 1000, 4999, 5001]) {
    const reused = Buffer.alloc(size);
    const chunks = (async function* () {
      for (let at = 0; at < source.length; at += size) {
        const n = source.copy(reused, 0, at, Math.min(at + size, source.length));
        yield reused.subarray(0, n);
      }
    })();
    const lines: string[] = [];
    for await (const line of splitLines(chunks)) lines.push(line.toString()); // each line read before the next chunk
    expect(lines).toEqual(['{"a":1}', 'x'.repeat(5000), '', 'tail']);
  }
});

test('a line spanning many chunks is joined whole', async () => {
  const long = 'x'.repeat(10_000);
  const bytes = Buffer.from(`${long}\nshort\n`);
  const cuts = Array.from({ length: 99 }, (_, i) => (i + 1) * 100);
  expect(await split(bytes, cuts)).toEqual([long, 'short']);
});
