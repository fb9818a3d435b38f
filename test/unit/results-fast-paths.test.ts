/**
 * The results path's shortcuts give exactly what the plain way gives: a staged line's custom_id read in place is
 * `JSON.parse(line).custom_id` whatever the line's shape, and JSON lines gathered into blocks are the same bytes as
 * one `JSON.stringify(value) + '\n'` a line, in a local file and in the store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { BlobJsonlWriter } from '../../src/results/blob-writer';
import { JsonlWriter, LINE_BLOCK_BYTES } from '../../src/results/jsonl';
import { idsOfInputChunks } from '../../src/results/writer';
import { LocalBlobStore } from '../../src/storage/local';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-fast-paths-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The ids `idsOfInputChunks` reads from `lines`, cut into chunks of `chunk` bytes. */
async function idsOf(lines: string[], chunk = 7): Promise<string[]> {
  const bytes = Buffer.from(lines.join('\n') + '\n');
  const chunks = (async function* () {
    for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
  })();
  const ids: string[] = [];
  for await (const id of idsOfInputChunks(chunks)) ids.push(id);
  return ids;
}

const parsedIds = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);

test('a staged line names its request as JSON.parse does, whatever its shape', async () => {
  const lines = [
    '{"custom_id":"first","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}',
    '{"method":"POST","custom_id":"not-first","body":{"model":"m"}}',
    '{"custom_id": "python-style", "method": "POST", "body": {"model": "m"}}',
    '  {  "custom_id"  :  "spaces"  , "body" : {} }  ',
    '{"custom_id":"crlf","body":{}}\r',
    '{"custom_id":"caf\u00e9 \u6771\u4eac","body":{}}',
    '{"custom_id":"a\\"quote","body":{}}',
    '{"custom_id":"a\\\\backslash","body":{}}',
    '{"custom_id":"\\u0041-escaped","body":{}}',
    '{"custom_id":"prompt-escapes","body":{"messages":[{"role":"user","content":"caf\\u00e9 \\u6771 \\n \\"custom_id\\""}]}}',
    // JSON.parse keeps the last of duplicate keys, however the duplicate is spelt.
    '{"custom_id":"dup-1","body":{},"custom_id":"dup-2"}',
    '{"custom_id":"dup-1","body":{},"custom\\u005fid":"escaped-dup"}',
    '{"custom_id":"dup-1","body":{},"\\u0063ustom_id":"escaped-dup-2"}',
    '{"custom_id":"dup-1","body":{},"custom_\\u0069\\u0064":"escaped-dup-3"}',
    // The name elsewhere: a nested key, a string value, a value of its own name, a key that ends with it.
    '{"custom_id":"outer","body":{"metadata":{"custom_id":"inner"}}}',
    '{"body":{"metadata":{"custom_id":"inner"}},"custom_id":"outer-last"}',
    '{"custom_id":"outer","body":{"content":"custom_id"}}',
    '{"custom_id":"custom_id","body":{}}',
    '{"body":{"x\\"custom_id":1},"custom_id":"after-tricky-key"}',
    '{"custom_id":"","body":{}}',
  ];
  expect(await idsOf(lines)).toEqual(parsedIds(lines));
  expect(await idsOf(lines, 1 << 20)).toEqual(parsedIds(lines));
});

test('random request lines: the id read in place is the parsed one', async () => {
  const text = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '"', '\\', '\n', '\u00e9', '\u6771', '_', ':', '{', '}', 'custom_id', '\u0001') });
  const line = fc.record({
    id: text,
    before: fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    after: fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    spaced: fc.boolean(),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 5 }), async (rows) => {
      const lines = rows.map(({ id, before, after, spaced }) => {
        const entries = [...Object.entries(before), ['custom_id', id] as const, ...Object.entries(after)];
        const sep = spaced ? ', ' : ',';
        const colon = spaced ? ': ' : ':';
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}${colon}${JSON.stringify(v)}`).join(sep)}}`;
      });
      expect(await idsOf(lines, 5)).toEqual(parsedIds(lines));
    }),
    { numRuns: 300 },
  );
});

/** Lines of many sizes, some over a whole block, some with non-ASCII text. */
function values(): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < 3000; i++) out.push({ id: `r-${i}`, custom_id: `request-${i}`, text: 'caf\u00e9 \u6771\u4eac '.repeat(i % 50), n: i });
  out.splice(1000, 0, { custom_id: 'huge', text: 'x'.repeat(LINE_BLOCK_BYTES + 10) });
  out.splice(2000, 0, { custom_id: 'huge-wide', text: '\u6771'.repeat(LINE_BLOCK_BYTES / 2) });
  return out;
}
const expected = (vs: unknown[]) => vs.map((v) => JSON.stringify(v) + '\n').join('');

test('a local JSONL file gathered into blocks holds one JSON.stringify line per value, in order', async () => {
  const file = path.join(dir, 'out.jsonl');
  const out = new JsonlWriter(file);
  const vs = values();
  for (const v of vs) {
    const wait = out.write(v);
    if (wait) await wait;
  }
  await out.close();
  expect(out.count).toBe(vs.length);
  expect(fs.readFileSync(file, 'utf8')).toBe(expected(vs));
});

test('a discarded local file is gone, lines gathered or not', async () => {
  const file = path.join(dir, 'gone.jsonl');
  const out = new JsonlWriter(file);
  out.write({ custom_id: 'a' });
  await out.discard();
  expect(fs.existsSync(file)).toBe(false);
});

test('JSON lines into the store, gathered into blocks, are the same bytes', async () => {
  const store = new LocalBlobStore(dir);
  const out = new BlobJsonlWriter(store, 'results/out.jsonl');
  const vs = values();
  for (const v of vs) {
    const wait = out.write(v);
    if (wait) await wait;
  }
  await out.close();
  expect(out.count).toBe(vs.length);
  expect(fs.readFileSync(store.localFile('results/out.jsonl')!, 'utf8')).toBe(expected(vs));
});
