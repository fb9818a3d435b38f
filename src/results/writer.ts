/**
 * Turns what a provider reports into the batch's result files, accounting for every request:
 * each input `custom_id` ends up exactly once, in the output file (2xx responses) or the error file
 * (everything else, plus a synthesized line for each request the provider did not report).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Batch, BatchResultFiles } from '../contract/batch';
import { UsageTally } from '../cost/usage';
import type { ResultLine } from '../providers/types';
import type { PartPlan, PartResults } from '../contract/spec';
import { syncDir, syncFile } from '../storage/fsync';
import { layout } from '../storage/layout';
import type { BlobStore } from '../storage/types';
import { BlobJsonlWriter, BlobWriter, countObjectLines, objectChunks } from './blob-writer';
import { JsonlWriter, countLines, readFileChunks, splitLines } from './jsonl';
import { MALFORMED_RESULT } from './malformed';
import { isRetryable } from './retryable';
import type { RetryableLine } from './retryable';

export const OUTPUT_FILE = 'output.jsonl';
export const ERRORS_FILE = 'errors.jsonl';
const PARTS_DIR = '.parts';

export interface Outcome {
  code: string;
  message: string;
}

/** The error given to requests a provider batch never reported, by the batch's final status. */
export function missingOutcome(batch: Batch): Outcome {
  switch (batch.status) {
    case 'cancelled':
      return { code: 'batch_cancelled', message: 'This request was not executed because the batch was cancelled.' };
    case 'expired':
      return { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' };
    case 'failed': {
      const reasons = (batch.errors?.data ?? []).slice(0, 5).map((e) => `${e.code}${e.line ? ` (line ${e.line})` : ''}: ${e.message}`);
      return { code: 'batch_failed', message: `The provider failed the batch at validation${reasons.length ? `: ${reasons.join('; ')}` : '.'}` };
    }
    default:
      return { code: 'missing_result', message: `The provider reported no result for this request (batch ${batch.status}).` };
  }
}

export function isSuccess(line: ResultLine): boolean {
  const status = line.response?.status_code ?? 0;
  return line.error == null && status >= 200 && status < 300;
}

function requestLineId(batchId: string, customId: string): string {
  return 'batch_req_' + crypto.createHash('sha256').update(`${batchId}\0${customId}`).digest('hex').slice(0, 24);
}

/** The custom_ids of a staged input file (or part of one), in order (the file was validated at creation). */
export function idsOfInput(file: string): AsyncGenerator<string> {
  return idsOfInputChunks(readFileChunks(file));
}

/** The custom_ids of a staged input (or part of one) read as a byte stream, in order. */
export async function* idsOfInputChunks(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  for await (const line of splitLines(chunks)) {
    if (line.length === 0) continue;
    yield customIdOf(line);
  }
}

const CUSTOM_ID_KEY = Buffer.from('"custom_id"');
const UNICODE_ESCAPE = Buffer.from('\\u00');
/** The hex digits after `\u00` that spell a character of `custom_id` (c u s t o m _ i d), lower-cased. */
const ESCAPED_KEY_CHARS = new Set(['63', '75', '73', '74', '6f', '6d', '5f', '69', '64']);

function skipSpace(buf: Buffer, at: number): number {
  while (at < buf.length && (buf[at] === 0x20 || buf[at] === 0x09 || buf[at] === 0x0d || buf[at] === 0x0a)) at += 1;
  return at;
}

/**
 * The custom_id of one staged request line (valid JSON: it was validated), exactly what `JSON.parse(line).custom_id`
 * is, mostly read in place: parsing every request, prompts and all, only to name it cost more than reading the
 * provider's results. In place only when that is certain: the bytes `"custom_id"` occur once (a second occurrence
 * may be a nested key, a string value or a duplicate key, which JSON.parse resolves to the last one), no `\u00XX`
 * escape in the line can spell a character of `custom_id` (a duplicate key spelt with escapes), and the value is a
 * string without escapes. A string cannot hold an unescaped `"`, so a single occurrence followed by `:` is a key;
 * a staged line always has its top-level custom_id, so it is that one. Anything else is parsed, as before.
 */
function customIdOf(line: Buffer): string {
  const key = line.indexOf(CUSTOM_ID_KEY);
  if (key !== -1 && line.indexOf(CUSTOM_ID_KEY, key + CUSTOM_ID_KEY.length) === -1 && !escapesKeyChars(line)) {
    let at = skipSpace(line, key + CUSTOM_ID_KEY.length);
    if (line[at] === 0x3a /* : */) {
      at = skipSpace(line, at + 1);
      if (line[at] === 0x22 /* " */) {
        const start = at + 1;
        const end = line.indexOf(0x22, start);
        let plain = end !== -1;
        for (let i = start; plain && i < end; i++) if (line[i] === 0x5c /* \ */ || line[i] < 0x20) plain = false;
        if (plain) return line.toString('utf8', start, end);
      }
    }
  }
  return (JSON.parse(line.toString('utf8')) as { custom_id: string }).custom_id;
}

/** Whether a `\u00XX` escape in `line` may stand for a character of `custom_id`. */
function escapesKeyChars(line: Buffer): boolean {
  for (let at = line.indexOf(UNICODE_ESCAPE); at !== -1; at = line.indexOf(UNICODE_ESCAPE, at + UNICODE_ESCAPE.length)) {
    if (ESCAPED_KEY_CHARS.has(line.toString('latin1', at + 4, at + 6).toLowerCase())) return true;
  }
  return false;
}

/** `count` custom_ids from the `first`-th (0-based) of a request-ids file written at validation (one JSON string a line). */
export function idsOfList(file: string, first: number, count: number): AsyncGenerator<string> {
  return idsOfListChunks(readFileChunks(file), first, count);
}

/** `count` custom_ids from the `first`-th (0-based) of a request-ids list read as a byte stream. */
export async function* idsOfListChunks(chunks: AsyncIterable<Buffer>, first: number, count: number): AsyncGenerator<string> {
  let at = 0;
  for await (const line of splitLines(chunks)) {
    if (line.length === 0) continue;
    if (at >= first + count) return;
    if (at >= first) yield JSON.parse(line.toString('utf8')) as string;
    at += 1;
  }
}

async function collect(ids: AsyncIterable<string>): Promise<Map<string, boolean>> {
  const seen = new Map<string, boolean>();
  for await (const id of ids) seen.set(id, false);
  return seen;
}

export function partPaths(resultsDir: string, index: number): { output: string; errors: string } {
  const dir = path.join(resultsDir, PARTS_DIR);
  return { output: path.join(dir, `${index}.${OUTPUT_FILE}`), errors: path.join(dir, `${index}.${ERRORS_FILE}`) };
}

/** Results kept in a blob store, under a key prefix (`results/<batch>/`, see src/storage/layout.ts). */
export interface StoreResults {
  store: BlobStore;
  prefix: string;
}

export interface WritePartOptions {
  batchId: string;
  /** The local folder the results go to (as before the blob store); ignored when `store` is given. */
  resultsDir?: string;
  /** The blob store and prefix the results go to. */
  store?: StoreResults;
  part: PartPlan;
  /** The part's custom_ids, in input order (from its input file, or from the ids recorded at validation). */
  ids: AsyncIterable<string>;
  /** The provider's lines; absent when the provider is not asked (`outcome` applies to every request). */
  lines: AsyncIterable<ResultLine> | null;
  /** The error for requests without a provider line. */
  outcome: Outcome;
  warn?: (message: string) => void;
}

/** Where one result file is written; nothing shows under its final name before `publish`. */
interface LineSink {
  readonly path: string;
  readonly count: number;
  /** Adds a line; a promise only when the caller must wait for it (see `JsonlWriter.write`). */
  write(value: unknown): Promise<void> | undefined;
  close(): Promise<void>;
  publish(): Promise<void>;
  discard(reason: unknown): Promise<void>;
}

/** A local file, written to `<file>.tmp` (fsynced on close) and renamed into place (its folder fsynced). */
function fileSink(file: string): LineSink {
  const out = new JsonlWriter(file + '.tmp');
  return {
    path: file,
    get count() {
      return out.count;
    },
    write: (v) => out.write(v),
    close: () => out.close(),
    publish: async () => {
      await fs.promises.rename(out.path, file);
      await syncDir(path.dirname(file));
    },
    discard: () => out.discard(),
  };
}

/** An object in the store, streamed as it is written; visible (complete) once closed. */
function objectSink(store: BlobStore, key: string): LineSink {
  const out = new BlobJsonlWriter(store, key);
  return {
    path: displayPath(store, key),
    get count() {
      return out.count;
    },
    write: (v) => out.write(v),
    close: async () => {
      await out.close();
    },
    publish: async () => undefined,
    discard: (reason) => out.discard(reason),
  };
}

/** How results name an object: its path for the local folder store (as before the store), else its URI. */
export function displayPath(store: BlobStore, key: string): string {
  return store.localFile(key) ?? store.uri(key);
}

/** Writes one part's output and error files (atomically: a retry rewrites them from scratch). */
export async function writePartResults(opts: WritePartOptions): Promise<PartResults> {
  let output: LineSink;
  let errors: LineSink;
  const ids = await collect(opts.ids);
  if (opts.store) {
    const { store, prefix } = opts.store;
    output = objectSink(store, layout.partOutput(prefix, opts.part.index));
    errors = objectSink(store, layout.partErrors(prefix, opts.part.index));
  } else {
    if (opts.resultsDir === undefined) throw new Error('writePartResults: neither resultsDir nor store given');
    const paths = partPaths(opts.resultsDir, opts.part.index);
    await fs.promises.mkdir(path.dirname(paths.output), { recursive: true });
    output = fileSink(paths.output);
    errors = fileSink(paths.errors);
  }
  let unknown = 0;
  let duplicates = 0;
  let malformed = 0;
  // A provider line that could not be read names its request only by a guess from its first bytes
  // (src/results/malformed.ts): it stands in for that request's outcome only when no readable line comes for it,
  // so a wrong guess never displaces a result. Small lines, and only as many as the provider's unreadable ones.
  const unreadable = new Map<string, ResultLine>();
  // Each result's tokens, per model: what the batch's cost is computed from (src/cost).
  const usage = new UsageTally();
  try {
    for await (const line of opts.lines ?? []) {
      const seen = ids.get(line.custom_id);
      if (seen === undefined) unknown += 1;
      else if (line.error?.code === MALFORMED_RESULT && line.response === null) {
        malformed += 1;
        if (!seen && !unreadable.has(line.custom_id)) unreadable.set(line.custom_id, line);
      } else if (seen) duplicates += 1;
      else {
        ids.set(line.custom_id, true);
        usage.add(line);
        const wait = (isSuccess(line) ? output : errors).write(line);
        if (wait) await wait;
      }
    }
    for (const [customId, seen] of ids) {
      if (seen) continue;
      const wait = errors.write(unreadable.get(customId) ?? { id: requestLineId(opts.batchId, customId), custom_id: customId, response: null, error: opts.outcome });
      if (wait) await wait;
    }
    await output.close();
    await errors.close();
  } catch (err) {
    await Promise.all([output.discard(err), errors.discard(err)]);
    throw err;
  }
  if (unknown > 0) opts.warn?.(`ignored ${unknown} result line(s) whose custom_id is not in part ${opts.part.index}'s input`);
  if (duplicates > 0) opts.warn?.(`ignored ${duplicates} duplicate result line(s) in part ${opts.part.index}`);
  if (malformed > 0) opts.warn?.(`${malformed} result line(s) of part ${opts.part.index} could not be read (${MALFORMED_RESULT})`);
  await output.publish();
  await errors.publish();
  return { outputPath: output.path, errorsPath: errors.path, outputCount: output.count, errorsCount: errors.count, usage: usage.result() };
}

/**
 * Error lines the merge leaves out (`retryFailed`): in the parts a later retry round followed (`parts`, positions
 * in the merge's list), the lines `codes` call retryable, since those requests were resubmitted and their outcome
 * is in a later round's files.
 */
export interface Superseded {
  codes: readonly string[];
  parts: readonly number[];
}

const NEWLINE = Buffer.from('\n');

/** A local file's bytes in fresh chunks (a write stream may hold a chunk after `write` returns). */
function fileChunks(file: string): AsyncIterable<Buffer> {
  return fs.createReadStream(file, { highWaterMark: 1 << 20 });
}

/** One source file's bytes for the merge: as they are, or only the lines that were not retried later. */
async function* mergedChunks(chunks: AsyncIterable<Buffer>, dropRetryable: readonly string[] | null, kept: { lines: number }): AsyncGenerator<Buffer> {
  if (dropRetryable === null) {
    yield* chunks;
    return;
  }
  for await (const line of splitLines(chunks)) {
    if (line.length === 0) continue;
    if (isRetryable(JSON.parse(line.toString('utf8')) as RetryableLine, dropRetryable)) continue;
    kept.lines += 1;
    yield Buffer.concat([line, NEWLINE]);
  }
}

/** The error lines the merge writes: each part's count, or (for a superseded part) those kept. */
function errorsCounter(parts: PartResults[], superseded: Superseded | undefined): { dropFor(i: number): readonly string[] | null; kept: { lines: number }; total(): number } {
  const dropped = new Set(superseded?.parts ?? []);
  const kept = { lines: 0 };
  return {
    dropFor: (i) => (dropped.has(i) ? superseded!.codes : null),
    kept,
    total: () => kept.lines + parts.reduce((a, p, i) => a + (dropped.has(i) ? 0 : p.errorsCount), 0),
  };
}

/** Each source is opened only when its turn comes. */
type Source = () => AsyncIterable<Buffer>;

async function concat(sources: Source[], target: string): Promise<void> {
  const tmp = target + '.tmp';
  const out = fs.createWriteStream(tmp);
  for (const src of sources) {
    for await (const chunk of src()) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  // Durable before it gets its name (the folder is fsynced once both merged files have theirs).
  await syncFile(tmp);
  await fs.promises.rename(tmp, target);
}

/**
 * Merges the parts' files into output.jsonl and errors.jsonl, in a local folder or under a prefix of the blob
 * store, leaving out the `superseded` error lines (requests retried in a later round). Safe to repeat after a
 * crash: the merged files are written whole (temp + rename, or an upload visible only once complete) before the
 * part files are removed, and a repeat that finds only the merged files counts their lines. In a local folder the
 * merged files and the folder are fsynced before the part files are removed and before this returns (the batch's
 * staged inputs are deleted next). The part files read are the folder's own (`.parts/<i>.*`, by the part index their
 * names carry), never other paths a `PartResults` names.
 */
export async function mergeResults(target: string | StoreResults, parts: PartResults[], superseded?: Superseded): Promise<BatchResultFiles> {
  if (typeof target !== 'string') return mergeInStore(target, parts, superseded);
  const resultsDir = target;
  const output = path.join(resultsDir, OUTPUT_FILE);
  const errors = path.join(resultsDir, ERRORS_FILE);
  const files = parts.map((p, i) => partPaths(resultsDir, partIndexOf(String(p.outputPath), i)));
  const partsLeft = files.every((f) => fs.existsSync(f.output) && fs.existsSync(f.errors));
  const counter = errorsCounter(parts, superseded);
  if (partsLeft) {
    await concat(files.map((f) => () => fileChunks(f.output)), output);
    await concat(files.map((f, i) => () => mergedChunks(fileChunks(f.errors), counter.dropFor(i), counter.kept)), errors);
    await syncDir(resultsDir);
    await fs.promises.rm(path.join(resultsDir, PARTS_DIR), { recursive: true, force: true });
  } else if (!fs.existsSync(output) || !fs.existsSync(errors)) {
    throw new Error(`results of ${resultsDir} are incomplete: part files and merged files are both missing`);
  }
  return {
    output_path: output,
    errors_path: errors,
    output_count: partsLeft ? parts.reduce((a, p) => a + p.outputCount, 0) : await countLines(output),
    errors_count: partsLeft ? counter.total() : await countLines(errors),
  };
}

/** The part index a part result file is named by (`.../.parts/<i>.output.jsonl`, as a path or a URI). */
export function partIndexOf(name: string, position: number): number {
  const m = /(?:^|[/\\])(\d+)\.(?:output|errors)\.jsonl$/.exec(name);
  return m ? Number(m[1]) : position;
}

async function concatObjects(store: BlobStore, sources: Source[], target: string): Promise<void> {
  const out = new BlobWriter(store, target);
  try {
    for (const source of sources) for await (const chunk of source()) await out.write(chunk);
    await out.close();
  } catch (err) {
    await out.discard(err);
    throw err;
  }
}

async function mergeInStore({ store, prefix }: StoreResults, parts: PartResults[], superseded: Superseded | undefined): Promise<BatchResultFiles> {
  const output = layout.output(prefix);
  const errors = layout.errors(prefix);
  const keys = parts.map((p, i) => {
    const index = partIndexOf(p.outputPath, i);
    return { output: layout.partOutput(prefix, index), errors: layout.partErrors(prefix, index) };
  });
  let partsLeft = keys.length > 0;
  for (const k of keys) {
    if ((await store.head(k.output)) === null || (await store.head(k.errors)) === null) {
      partsLeft = false;
      break;
    }
  }
  const counter = errorsCounter(parts, superseded);
  if (partsLeft) {
    await concatObjects(store, keys.map((k) => () => objectChunks(store, k.output)), output);
    await concatObjects(store, keys.map((k, i) => () => mergedChunks(objectChunks(store, k.errors), counter.dropFor(i), counter.kept)), errors);
    // Only once both merged objects exist are the parts removed.
    const stale: string[] = [];
    for await (const entry of store.list(`${prefix}${PARTS_DIR}/`)) stale.push(entry.key);
    for (const key of stale) await store.delete(key);
  } else if (!(await store.head(output)) || !(await store.head(errors))) {
    throw new Error(`results of ${store.uri(prefix.replace(/\/$/, ''))} are incomplete: part files and merged files are both missing`);
  }
  return {
    output_path: displayPath(store, output),
    errors_path: displayPath(store, errors),
    output_uri: store.uri(output),
    errors_uri: store.uri(errors),
    output_count: partsLeft ? parts.reduce((a, p) => a + p.outputCount, 0) : await countObjectLines(store, output),
    errors_count: partsLeft ? counter.total() : await countObjectLines(store, errors),
  };
}
