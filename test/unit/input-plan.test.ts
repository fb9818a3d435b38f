/**
 * The split in the validation pass: the client cuts parts as byte ranges of the staged copy while it checks and writes
 * it, the same parts the worker's split would cut, and the worker takes such a plan only when it tiles the staged input
 * under the worker's own limits.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PartCutter, splitInput } from '../../src/results/split';
import type { SplitLimits } from '../../src/results/split';
import { decodeInputPlan, encodeInputPlan, planUsable } from '../../src/storage/input-plan';
import { parseRangedPath, rangedPath } from '../../src/storage/part-range';
import { readFileChunks } from '../../src/results/jsonl';
import { validateInputFile } from '../../src/validation';
import { getAdapter } from '../../src/providers';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-plan-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A small seeded PRNG, so a failure repeats. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function chatLine(id: string, pad: number): string {
  return JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(pad) }] } });
}

/** An input of `n` requests of random sizes, with blank lines and CRLF endings the staged copy drops. */
function input(n: number, seed: number): string {
  const r = random(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(chatLine(`req-${i}`, Math.floor(r() * 3000)));
    if (r() < 0.05) lines.push('');
  }
  const file = path.join(dir, `in-${seed}.jsonl`);
  fs.writeFileSync(file, lines.join(r() < 0.5 ? '\n' : '\r\n') + '\n');
  return file;
}

async function rangeText(file: string, start: number, bytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of readFileChunks(file, 4096, { start, end: start + bytes - 1 })) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

const openai = getAdapter('openai').capabilities;

describe('parts cut while validating', () => {
  const cases: Array<[string, number, SplitLimits]> = [
    ['by requests', 1, { maxRequests: 37, maxBytes: Infinity }],
    ['by bytes', 2, { maxRequests: 1000, maxBytes: 40_000 }],
    ['by both', 3, { maxRequests: 25, maxBytes: 30_000 }],
    ['by a translated measure', 4, { maxRequests: 1000, maxBytes: 20_000, sentBytes: (l) => Math.ceil(l.length * 1.4) + 1 }],
    ['one part', 5, { maxRequests: 1000, maxBytes: 1e9 }],
  ];

  test.each(cases)('%s: the same parts as the worker split cuts, each a byte range holding exactly its lines', async (_name, seed, limits) => {
    const file = input(200, seed);
    const stagedPath = path.join(dir, `staged-${seed}.jsonl`);
    const validated = await validateInputFile(file, { file, endpoint: '/v1/chat/completions', capabilities: openai, enforceBatchLimits: false, cutParts: limits }, { stageTo: stagedPath });
    const ranges = validated.parts!;
    expect(ranges.reduce((a, p) => a + p.requestCount, 0)).toBe(200);

    const split = await splitInput(stagedPath, limits, { partPath: (i) => path.join(dir, `part-${seed}-${i}.jsonl`) });
    expect(ranges.map((p) => [p.requestCount, p.bytes])).toEqual(split.map((p) => [p.requestCount, p.bytes]));
    // Contiguous from 0 to the staged copy's end, and each range is the split's part byte for byte.
    let at = 0;
    for (const [i, range] of ranges.entries()) {
      expect(range.start).toBe(at);
      at += range.bytes;
      expect(await rangeText(stagedPath, range.start, range.bytes)).toBe(fs.readFileSync(split[i].path, 'utf8'));
    }
    expect(at).toBe(fs.statSync(stagedPath).size);
    expect(at).toBe(validated.bytes);
  });

  test('without staging nothing is cut', async () => {
    const file = input(10, 9);
    const validated = await validateInputFile(file, { file, endpoint: '/v1/chat/completions', capabilities: openai, cutParts: { maxRequests: 3, maxBytes: Infinity } });
    expect(validated.parts).toBeNull();
  });

  test('a cutter fed nothing has no parts, and a line alone over the byte limit is a part of its own', () => {
    expect(new PartCutter({ maxRequests: 5, maxBytes: 10 }).finish()).toEqual([]);
    const cutter = new PartCutter({ maxRequests: 5, maxBytes: 10 });
    for (const n of [3, 20, 3, 3]) cutter.add(Buffer.alloc(n, 'a'));
    expect(cutter.finish()).toEqual([
      { requestCount: 1, start: 0, bytes: 4 },
      { requestCount: 1, start: 4, bytes: 21 },
      { requestCount: 2, start: 25, bytes: 8 },
    ]);
  });
});

describe('the plan the worker reads', () => {
  const limits: SplitLimits = { maxRequests: 10, maxBytes: 1000 };
  const parts = [
    { requestCount: 10, start: 0, bytes: 900 },
    { requestCount: 4, start: 900, bytes: 300 },
  ];
  const staged = { requestCount: 14, bytes: 1200 };
  const encoded = () => encodeInputPlan(limits, parts, staged).toString('utf8');
  const edited = (edit: (plan: Record<string, unknown>) => void) => {
    const plan = JSON.parse(encoded()) as Record<string, unknown>;
    edit(plan);
    return JSON.stringify(plan);
  };

  test('is taken when it was cut by the same limits and tiles the staged input', () => {
    expect(decodeInputPlan(encoded(), limits, staged)).toEqual(parts);
  });

  test.each<[string, () => PartsOrNull]>([
    ['other limits (another version or setting)', () => decodeInputPlan(encoded(), { ...limits, maxRequests: 9 }, staged)],
    ['another measure of bytes', () => decodeInputPlan(encoded(), { ...limits, sentBytes: (l) => l.length }, staged)],
    ['a staged input of another size', () => decodeInputPlan(encoded(), limits, { ...staged, bytes: 1201 })],
    ['another request count', () => decodeInputPlan(encoded(), limits, { ...staged, requestCount: 15 })],
    ['a gap between ranges', () => decodeInputPlan(edited((p) => ((p.parts as number[][])[1][1] = 901)), limits, staged)],
    ['a range past the input', () => decodeInputPlan(edited((p) => ((p.parts as number[][])[1][2] = 400)), limits, staged)],
    ['a part over the request limit', () => decodeInputPlan(edited((p) => (p.parts = [[11, 0, 900], [3, 900, 300]])), limits, staged)],
    ['a part over the byte limit', () => decodeInputPlan(edited((p) => (p.parts = [[10, 0, 1100], [4, 1100, 100]])), limits, staged)],
    ['an unknown format', () => decodeInputPlan(edited((p) => (p.format = 'anybatch.plan/9')), limits, staged)],
    ['not numbers', () => decodeInputPlan(edited((p) => (p.parts = [['10', 0, 900], [4, 900, 300]])), limits, staged)],
    ['not JSON', () => decodeInputPlan('{"format":', limits, staged)],
    ['several parts under a provider minimum (even parts need the count first)', () => decodeInputPlan(encodeInputPlan({ ...limits, minRequests: 2 }, parts, staged).toString(), { ...limits, minRequests: 2 }, staged)],
  ])('is refused (the worker splits itself) with %s', (_name, decode) => {
    expect(decode()).toBeNull();
  });

  test('a provider minimum allows a plan of one part only', () => {
    expect(planUsable({ ...limits, minRequests: 2 }, parts)).toBe(false);
    expect(planUsable({ ...limits, minRequests: 2 }, [{ requestCount: 14, start: 0, bytes: 1200 }])).toBe(true);
    expect(planUsable(limits, [])).toBe(false);
  });

  test('a ranged part is named by its input and inclusive range, and nothing else parses as one', () => {
    const name = rangedPath('/data/inputs/ab_1/r0011/input.jsonl', 900, 300);
    expect(name).toBe('/data/inputs/ab_1/r0011/input.jsonl#bytes=900-1199');
    expect(parseRangedPath(name)).toEqual({ place: '/data/inputs/ab_1/r0011/input.jsonl', range: { start: 900, end: 1199 } });
    expect(parseRangedPath('s3://b/p/inputs/ab_1/r0011/input.jsonl#bytes=0-0')).toEqual({ place: 's3://b/p/inputs/ab_1/r0011/input.jsonl', range: { start: 0, end: 0 } });
    for (const other of ['/data/input.jsonl', '/data/input.jsonl#bytes=9-3', '/data/input.jsonl#bytes=-1-3', '/data/input.jsonl#bytes=1-2x']) expect(parseRangedPath(other)).toBeNull();
  });
});

type PartsOrNull = ReturnType<typeof decodeInputPlan>;
