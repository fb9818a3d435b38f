/**
 * Issue 17, property-based (fast-check): no generated id or line reaches past its batch's keys.
 *
 * (a) Batch ids and the store's keys. Ids are generated from pieces that make ids look alike (`a`, `a.b`, `.`, `..`,
 *     `a.part-1`, `a.ids`, `/`, control characters, long runs); only those `createBatch` accepts
 *     (`parseCreateOptions(provider, { batchId })`, the public check) go on. For those:
 *     - every key of a batch is a valid key (src/storage/keys.ts `validateKey`), under `inputs/` or `results/<id>/`;
 *     - no key or folder of one batch is a prefix of (or equal to) a key of another (new batches: run folders);
 *     - no batch's ownership tests (what clean-up and `anybatch delete` remove) claim another batch's staged keys,
 *       whether that batch is new or was staged before run folders (the flat layout `inputs/<id>.jsonl`, ...).
 * (b) The JSONL validator used by `createBatch` (src/validation `validateInputFile`): on arbitrary bytes, and on
 *     arbitrary mixes of good and bad request lines (blank lines, CRLF, a BOM, no final newline), it only ever throws
 *     `InputValidationError`, never accepts (stages) a line without a non-empty string custom_id, and reports the
 *     right physical line numbers.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { InputValidationError, UsageError } from '../../src/errors';
import { parseCreateOptions } from '../../src/options';
import { PROVIDERS } from '../../src/providers/catalog';
import { validateKey, validatePrefix } from '../../src/storage/keys';
import { everyStagedKey, layout, newStagedKeys } from '../../src/storage/layout';
import { validateInputFile } from '../../src/validation';

const RUNS = 300;

// (a) ---------------------------------------------------------------------------------------------------------------

/** Whether `createBatch` takes `id` as a batch id (any other error than a UsageError fails the property). */
function accepted(id: string): boolean {
  try {
    parseCreateOptions('openai', { batchId: id });
    return true;
  } catch (err) {
    if (err instanceof UsageError) return false;
    throw err;
  }
}

const PIECES = ['a', 'b', 'Z', '0', '9', '.', '..', '-', '_', '/', '\\', ' ', '\u0000', '\n', 'é', 'ids', 'part-1', '.part-1', '.ids', '.work', 'work', 'jsonl', '.jsonl', 'r0123456789ab', '.anybatch-tmp-'];
const batchId = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 6 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', '.', 'x.y'), fc.integer({ min: 195, max: 205 })).map(([c, n]) => c.repeat(n).slice(0, n)) },
);
const run = fc.stringMatching(/^r[0-9a-f]{12}$/);
/**
 * Ids that look alike: a generated id and others made from it with a few more pieces (`a`, `a.b`, `a.part-1`,
 * `a.ids`, `a/x`, ...), plus unrelated ones; each with a run folder of its own.
 */
const family = fc
  .tuple(
    batchId,
    fc.array(fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 3 }).map((p) => p.join('')), { minLength: 1, maxLength: 4 }),
    fc.array(batchId, { maxLength: 2 }),
    fc.array(run, { minLength: 7, maxLength: 7 }),
  )
  .map(([base, suffixes, others, runs]) => [...new Set([base, ...suffixes.map((s) => base + s), ...others])].map((id, i) => [id, runs[i]] as const));

/** The keys (files) and folders of a new batch (run-folder layout) and of its results. */
function keysOf(id: string, runName: string): { files: string[]; folders: string[]; staged: string[] } {
  const staged = newStagedKeys(id, runName);
  const results = layout.results(id);
  const stagedFiles = [staged.input, staged.ids, staged.part(0), staged.part(12), `${staged.work(0)}create.json`, `${staged.work(3)}ids.json`];
  const resultFiles = [
    layout.output(results),
    layout.errors(results),
    layout.partOutput(results, 0),
    layout.partErrors(results, 5),
    layout.recovery(results),
    `${layout.recoverScratch(results)}output.jsonl`,
  ];
  const folders = [staged.work(0), results, layout.recoverScratch(results), ...(staged.folder ? [staged.folder] : [])];
  return { files: [...stagedFiles, ...resultFiles], folders, staged: stagedFiles };
}

/** The keys of a batch staged before run folders (the flat layout its spec names). */
function flatKeysOf(id: string): string[] {
  return [layout.input(id), layout.inputIds(id), layout.part(id, 0), layout.part(id, 1), `${layout.work(id, 0)}create.json`];
}

describe('(a) batch ids and the keys of the store', () => {
  test('every key of an accepted id is a valid key, under inputs/ or results/<id>/', () => {
    fc.assert(
      fc.property(batchId, run, (id, r) => {
        if (!accepted(id)) return;
        const { files, folders, staged } = keysOf(id, r);
        for (const key of files) expect(() => validateKey(key)).not.toThrow();
        for (const folder of folders) expect(() => validatePrefix(folder)).not.toThrow();
        for (const key of files) expect(staged.includes(key) ? key.startsWith('inputs/') : key.startsWith(`results/${id}/`)).toBe(true);
        for (const key of flatKeysOf(id)) expect(() => validateKey(key)).not.toThrow();
      }),
      { numRuns: RUNS },
    );
  });

  test('no key or folder of one batch is a prefix of another batch\'s key (new batches: run folders)', () => {
    fc.assert(
      fc.property(family, (batches) => {
        const ok = batches.filter(([id]) => accepted(id)).map(([id, r]) => ({ id, ...keysOf(id, r) }));
        for (const x of ok) {
          for (const y of ok) {
            if (x.id === y.id) continue;
            for (const mine of [...x.files, ...x.folders]) {
              for (const theirs of y.files) {
                if (theirs.startsWith(mine)) throw new Error(`batch ${JSON.stringify(x.id)}'s ${mine} is a prefix of batch ${JSON.stringify(y.id)}'s ${theirs}`);
              }
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  /** Fails the property when a batch's ownership tests claim a key of another batch among `theirs(y, run)`. */
  function claimsNone(theirs: (id: string, r: string) => string[]) {
    return (batches: (readonly [string, string])[]) => {
      const ok = batches.filter(([id]) => accepted(id));
      for (const [x, rx] of ok) {
        const mine = newStagedKeys(x, rx);
        const every = everyStagedKey(x);
        for (const [y, ry] of ok) {
          if (x === y) continue;
          for (const key of theirs(y, ry)) {
            if (mine.owns(key)) throw new Error(`batch ${JSON.stringify(x)}'s staged keys claim batch ${JSON.stringify(y)}'s ${key}`);
            if (every.owns(key)) throw new Error(`anybatch delete ${JSON.stringify(x)} claims batch ${JSON.stringify(y)}'s ${key}`);
          }
        }
      }
    };
  }

  test("no batch's ownership test (clean-up, anybatch delete) claims another new batch's staged keys", () => {
    fc.assert(fc.property(family, claimsNone((y, ry) => keysOf(y, ry).staged)), { numRuns: RUNS });
  });

  /**
   * The keys the flat layout gave to two ids at once (`inputs/a.ids.jsonl` is batch `a`'s ids and batch `a.ids`'s
   * input; `inputs/a.part-1.jsonl` is `a`'s part 1 and `a.part-1`'s input): a collision of the old layout that nothing
   * can undo now, and the reason new batches stage into run folders. Every other key stays its own batch's.
   */
  function sharedFlatKey(x: string, key: string): boolean {
    if (key === layout.input(x) || key === layout.inputIds(x)) return true;
    const part = `inputs/${x}.part-`;
    return key.startsWith(part) && /^\d+\.jsonl$/.test(key.slice(part.length));
  }

  test('nor the staged keys of a batch staged before run folders (the flat layout), but for the keys it gave two ids', () => {
    fc.assert(
      fc.property(family, (batches) => {
        const ok = batches.filter(([id]) => accepted(id));
        for (const [x, rx] of ok) {
          const mine = newStagedKeys(x, rx);
          const every = everyStagedKey(x);
          for (const [y] of ok) {
            if (x === y) continue;
            for (const key of flatKeysOf(y)) {
              if (mine.owns(key)) throw new Error(`batch ${JSON.stringify(x)}'s staged keys claim batch ${JSON.stringify(y)}'s ${key}`);
              if (every.owns(key) && !sharedFlatKey(x, key)) throw new Error(`anybatch delete ${JSON.stringify(x)} claims batch ${JSON.stringify(y)}'s ${key}`);
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// (b) ---------------------------------------------------------------------------------------------------------------

const CHAT = '/v1/chat/completions';
let dir: string;
let files = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anybatch-fuzz-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  error: InputValidationError | null;
  requestCount: number;
  stagedLines: string[];
  stagedIds: string[];
}

/** Validates `content` as createBatch does for OpenAI, staging it; any error but InputValidationError is thrown. */
async function validate(content: Buffer): Promise<Outcome> {
  const n = ++files;
  const path = join(dir, `in-${n}.jsonl`);
  const stageTo = join(dir, `staged-${n}.jsonl`);
  await writeFile(path, content);
  try {
    const result = await validateInputFile(path, { file: 'in.jsonl', endpoint: CHAT, capabilities: PROVIDERS.openai }, { stageTo });
    const staged = (await readFile(stageTo, 'utf8')).split('\n').filter((l) => l !== '');
    const ids = (await readFile(join(dir, `staged-${n}.ids.jsonl`), 'utf8')).split('\n').filter((l) => l !== '');
    return { error: null, requestCount: result.requestCount, stagedLines: staged, stagedIds: ids.map((l) => JSON.parse(l) as string) };
  } catch (err) {
    if (!(err instanceof InputValidationError)) throw err;
    return { error: err, requestCount: 0, stagedLines: [], stagedIds: [] };
  } finally {
    await rm(path, { force: true });
  }
}

/** Every staged line is a request with a non-empty string custom_id, the ids file holds exactly those. */
function expectStagedSound(outcome: Outcome): void {
  const ids = outcome.stagedLines.map((line) => (JSON.parse(line) as { custom_id: unknown }).custom_id);
  for (const id of ids) expect(typeof id === 'string' && id.length > 0).toBe(true);
  expect(outcome.stagedIds).toEqual(ids);
  expect(outcome.requestCount).toBe(ids.length);
}

type Kind = 'valid' | 'bad_custom_id' | 'bad' | 'blank';
interface Line {
  kind: Kind;
  text: Buffer;
  customId?: string;
}

const request = (customId: unknown, extra: unknown) => ({ ...(customId === undefined ? {} : { custom_id: customId }), method: 'POST', url: CHAT, body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, x_extra: extra });
const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
const noNewline = (b: Buffer) => !b.includes(0x0a);
const blankBytes = (b: Buffer) => b.every((c) => c === 0x20 || c === 0x09 || c === 0x0d);

const lineArb: fc.Arbitrary<Line> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), fc.jsonValue({ maxDepth: 2 })).map(([id, extra]) => ({ kind: 'valid' as const, text: json(request(id, extra)), customId: id })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom<unknown>(undefined, '', 0, 7.5, null, true, [], ['x'], {}, { id: 'x' }), fc.jsonValue({ maxDepth: 1 }))
      .map(([id, extra]) => ({ kind: 'bad_custom_id' as const, text: json(request(id, extra)) })),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v) => ({ kind: 'bad' as const, text: json(v) })) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== 'custom_id'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }).map((o) => ({ kind: 'bad' as const, text: json(o) })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a)).filter((b) => noNewline(b) && !blankBytes(b)).map((text) => ({ kind: 'bad' as const, text })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((s) => Buffer.from(s, 'utf8')).filter((b) => noNewline(b) && !blankBytes(b) && !isJson(b)).map((text) => ({ kind: 'bad' as const, text })) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '\r', ' \t ').map((s) => ({ kind: 'blank' as const, text: Buffer.from(s) })) },
);

function isJson(b: Buffer): boolean {
  try {
    JSON.parse(b.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** Lines with unique custom_ids on the valid ones (their index appended), joined with `\n` or `\r\n`. */
const fileArb = fc
  .record({
    lines: fc.array(lineArb, { minLength: 0, maxLength: 30 }),
    crlf: fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
    bom: fc.boolean(),
    finalNewline: fc.boolean(),
  })
  .map(({ lines, crlf, bom, finalNewline }) => {
    const numbered = lines.map((line, i) => (line.kind === 'valid' ? { ...line, customId: `${line.customId}#${i}`, text: json({ ...JSON.parse(line.text.toString('utf8')), custom_id: `${line.customId}#${i}` }) } : line));
    const parts: Buffer[] = bom ? [Buffer.from([0xef, 0xbb, 0xbf])] : [];
    numbered.forEach((line, i) => {
      parts.push(line.text);
      if (i < numbered.length - 1 || finalNewline) parts.push(Buffer.from(crlf[i] ? '\r\n' : '\n'));
    });
    return { lines: numbered, content: Buffer.concat(parts) };
  });

describe('(b) the JSONL validator', () => {
  test('arbitrary bytes: only InputValidationError, and nothing staged without a string custom_id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
        const outcome = await validate(Buffer.from(bytes));
        if (outcome.error === null) expectStagedSound(outcome);
        const physical = Buffer.from(bytes).toString('latin1').split('\n').length;
        for (const issue of outcome.error?.issues ?? []) if (issue.line !== undefined) expect(issue.line).toBeGreaterThanOrEqual(1), expect(issue.line).toBeLessThanOrEqual(physical);
      }),
      { numRuns: RUNS },
    );
  });

  test('arbitrary lines: never accepts a line without a string custom_id, and names the right lines', async () => {
    await fc.assert(
      fc.asyncProperty(fileArb, async ({ lines, content }) => {
        const outcome = await validate(content);
        const bad = lines.flatMap((line, i) => (line.kind === 'bad' || line.kind === 'bad_custom_id' ? [i + 1] : []));
        const valid = lines.filter((line) => line.kind === 'valid');
        if (bad.length === 0 && valid.length > 0) {
          expect(outcome.error).toBeNull();
          expectStagedSound(outcome);
          expect(outcome.stagedIds).toEqual(valid.map((line) => line.customId));
          return;
        }
        expect(outcome.error).toBeInstanceOf(InputValidationError);
        const error = outcome.error!;
        if (bad.length === 0) {
          // Only blank lines, or nothing: one issue about the whole file.
          expect(error.issues.map((i) => i.line)).toEqual([undefined]);
          return;
        }
        // The lines named are the first bad lines, in order; all of them when every issue is listed.
        const named = [...new Set(error.issues.map((i) => i.line))];
        expect(named.every((line) => line !== undefined)).toBe(true);
        expect(named).toEqual(bad.slice(0, named.length));
        if (error.totalIssues === error.issues.length) {
          expect(named).toEqual(bad);
          for (const n of bad) {
            if (lines[n - 1].kind === 'bad_custom_id') expect(error.issues).toContainEqual(expect.objectContaining({ line: n, field: 'custom_id' }));
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
