/** Writing a part's results: every input custom_id exactly once, routed by outcome; merging parts. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ResultLine } from '../../src/providers/types';
import { readJsonLines } from '../../src/results/jsonl';
import { idsOfInput, mergeResults, missingOutcome, writePartResults } from '../../src/results/writer';
import type { Batch } from '../../src/contract/batch';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-results-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function input(ids: string[], name = 'in.jsonl'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, ids.map((id) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'm' } })).join('\n') + '\n');
  return file;
}

const ok = (id: string): ResultLine => ({ id: `r-${id}`, custom_id: id, response: { status_code: 200, request_id: 'q', body: { object: 'chat.completion' } }, error: null });
const httpError = (id: string): ResultLine => ({ id: `r-${id}`, custom_id: id, response: { status_code: 400, request_id: 'q', body: { error: { message: 'bad' } } }, error: null });

async function* lines(...items: ResultLine[]): AsyncGenerator<ResultLine> {
  yield* items;
}

const read = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ResultLine);
const batch = (status: Batch['status']): Batch => ({ id: 'b', object: 'batch', endpoint: '/v1/chat/completions', input_file_id: 'f', completion_window: '24h', status, created_at: 0 });

test('2xx responses go to the output file, errors to the error file, unreported requests get the outcome', async () => {
  const part = { index: 0, path: input(['a', 'b', 'c', 'd']), requestCount: 4, bytes: 0 };
  const res = await writePartResults({ batchId: 'ab', resultsDir: dir, part, ids: idsOfInput(part.path), lines: lines(ok('a'), httpError('b')), outcome: missingOutcome(batch('cancelled')) });
  expect(read(res.outputPath).map((l) => l.custom_id)).toEqual(['a']);
  const errors = read(res.errorsPath);
  expect(errors.map((l) => l.custom_id)).toEqual(['b', 'c', 'd']);
  expect(errors[1]).toMatchObject({ response: null, error: { code: 'batch_cancelled' } });
  expect(res).toMatchObject({ outputCount: 1, errorsCount: 3 });
});

test('duplicate and unknown result lines are dropped, so each custom_id appears once', async () => {
  const part = { index: 0, path: input(['a', 'b']), requestCount: 2, bytes: 0 };
  const warnings: string[] = [];
  const res = await writePartResults({ batchId: 'ab', resultsDir: dir, part, ids: idsOfInput(part.path), lines: lines(ok('a'), ok('a'), ok('zzz'), ok('b')), outcome: missingOutcome(batch('completed')), warn: (m) => warnings.push(m) });
  expect(read(res.outputPath).map((l) => l.custom_id)).toEqual(['a', 'b']);
  expect(read(res.errorsPath)).toEqual([]);
  expect(warnings.join(' ')).toMatch(/1 result line\(s\) whose custom_id is not in/);
  expect(warnings.join(' ')).toMatch(/1 duplicate/);
});

test('synthesized error lines have stable ids, so a retried write produces the same file', async () => {
  const part = { index: 0, path: input(['a']), requestCount: 1, bytes: 0 };
  const first = await writePartResults({ batchId: 'ab', resultsDir: dir, part, ids: idsOfInput(part.path), lines: null, outcome: { code: 'batch_failed', message: 'x' } });
  const text = fs.readFileSync(first.errorsPath, 'utf8');
  await writePartResults({ batchId: 'ab', resultsDir: dir, part, ids: idsOfInput(part.path), lines: null, outcome: { code: 'batch_failed', message: 'x' } });
  expect(fs.readFileSync(first.errorsPath, 'utf8')).toBe(text);
});

test('a provider stream that breaks midway leaves no part files behind', async () => {
  const part = { index: 0, path: input(['a', 'b']), requestCount: 2, bytes: 0 };
  async function* broken(): AsyncGenerator<ResultLine> {
    yield ok('a');
    throw new Error('connection reset');
  }
  await expect(writePartResults({ batchId: 'ab', resultsDir: dir, part, ids: idsOfInput(part.path), lines: broken(), outcome: missingOutcome(batch('completed')) })).rejects.toThrow('connection reset');
  expect(fs.readdirSync(path.join(dir, '.parts'))).toEqual([]);
});

test.each<[Batch['status'], string]>([
  ['cancelled', 'batch_cancelled'],
  ['expired', 'batch_expired'],
  ['failed', 'batch_failed'],
  ['completed', 'missing_result'],
])('a %s batch gives unreported requests %s', (status, code) => {
  expect(missingOutcome(batch(status)).code).toBe(code);
});

test('merging parts concatenates them and is safe to repeat after the parts are gone', async () => {
  const p0 = await writePartResults({ batchId: 'ab', resultsDir: dir, part: { index: 0, path: input(['a', 'b'], '0.jsonl'), requestCount: 2, bytes: 0 }, ids: idsOfInput(path.join(dir, '0.jsonl')), lines: lines(ok('a')), outcome: { code: 'batch_expired', message: 'x' } });
  const p1 = await writePartResults({ batchId: 'ab', resultsDir: dir, part: { index: 1, path: input(['c'], '1.jsonl'), requestCount: 1, bytes: 0 }, ids: idsOfInput(path.join(dir, '1.jsonl')), lines: lines(ok('c')), outcome: { code: 'batch_expired', message: 'x' } });
  const merged = await mergeResults(dir, [p0, p1]);
  expect(read(merged.output_path).map((l) => l.custom_id)).toEqual(['a', 'c']);
  expect(read(merged.errors_path).map((l) => l.custom_id)).toEqual(['b']);
  expect(merged).toMatchObject({ output_count: 2, errors_count: 1 });
  expect(await mergeResults(dir, [p0, p1])).toEqual(merged);
});

test('a download cut short of its Content-Length is reported, not returned as a short file', async () => {
  const body = '{"a":1}\n{"b":2}\n';
  const stream = Readable.from([Buffer.from(body)]);
  const read = async () => {
    for await (const _ of readJsonLines(stream, { source: 'file x', expectedBytes: body.length + 40 })) void _;
  };
  await expect(read()).rejects.toThrow(/received 16 of 56 bytes/);
  const cut = Readable.from([Buffer.from('{"a":1}\n{"b":')]);
  const readCut = async () => {
    for await (const _ of readJsonLines(cut, { source: 'file y' })) void _;
  };
  await expect(readCut()).rejects.toThrow(/line 2: not valid JSON/);
});
