/**
 * Turns what a provider reports into the batch's result files, accounting for every request:
 * each input `custom_id` ends up exactly once, in the output file (2xx responses) or the error file
 * (everything else, plus a synthesized line for each request the provider did not report).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Batch, BatchResultFiles } from '../batch';
import type { ResultLine } from '../providers/types';
import type { PartPlan, PartResults } from '../workflows/shared';
import { JsonlWriter, countLines, readFileChunks, splitLines } from './jsonl';

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
export async function* idsOfInput(file: string): AsyncGenerator<string> {
  for await (const line of splitLines(readFileChunks(file))) {
    if (line.length === 0) continue;
    yield (JSON.parse(line.toString('utf8')) as { custom_id: string }).custom_id;
  }
}

/** `count` custom_ids from the `first`-th (0-based) of a request-ids file written at validation (one JSON string a line). */
export async function* idsOfList(file: string, first: number, count: number): AsyncGenerator<string> {
  let at = 0;
  for await (const line of splitLines(readFileChunks(file))) {
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

export interface WritePartOptions {
  batchId: string;
  resultsDir: string;
  part: PartPlan;
  /** The part's custom_ids, in input order (from its input file, or from the ids recorded at validation). */
  ids: AsyncIterable<string>;
  /** The provider's lines; absent when the provider is not asked (`outcome` applies to every request). */
  lines: AsyncIterable<ResultLine> | null;
  /** The error for requests without a provider line. */
  outcome: Outcome;
  warn?: (message: string) => void;
}

/** Writes one part's output and error files (atomically: a retry rewrites them from scratch). */
export async function writePartResults(opts: WritePartOptions): Promise<PartResults> {
  const paths = partPaths(opts.resultsDir, opts.part.index);
  await fs.promises.mkdir(path.dirname(paths.output), { recursive: true });
  const ids = await collect(opts.ids);
  const output = new JsonlWriter(paths.output + '.tmp');
  const errors = new JsonlWriter(paths.errors + '.tmp');
  let unknown = 0;
  let duplicates = 0;
  try {
    for await (const line of opts.lines ?? []) {
      const seen = ids.get(line.custom_id);
      if (seen === undefined) unknown += 1;
      else if (seen) duplicates += 1;
      else {
        ids.set(line.custom_id, true);
        await (isSuccess(line) ? output : errors).write(line);
      }
    }
    for (const [customId, seen] of ids) {
      if (seen) continue;
      await errors.write({ id: requestLineId(opts.batchId, customId), custom_id: customId, response: null, error: opts.outcome });
    }
    await output.close();
    await errors.close();
  } catch (err) {
    await Promise.all([output.discard(), errors.discard()]);
    throw err;
  }
  if (unknown > 0) opts.warn?.(`ignored ${unknown} result line(s) whose custom_id is not in part ${opts.part.index}'s input`);
  if (duplicates > 0) opts.warn?.(`ignored ${duplicates} duplicate result line(s) in part ${opts.part.index}`);
  await fs.promises.rename(output.path, paths.output);
  await fs.promises.rename(errors.path, paths.errors);
  return { outputPath: paths.output, errorsPath: paths.errors, outputCount: output.count, errorsCount: errors.count };
}

async function concat(sources: string[], target: string): Promise<void> {
  const tmp = target + '.tmp';
  const out = fs.createWriteStream(tmp);
  for (const src of sources) {
    for await (const chunk of fs.createReadStream(src, { highWaterMark: 1 << 20 })) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  await fs.promises.rename(tmp, target);
}

/** Merges the parts' files into output.jsonl and errors.jsonl. Safe to repeat after a crash. */
export async function mergeResults(resultsDir: string, parts: PartResults[]): Promise<BatchResultFiles> {
  const output = path.join(resultsDir, OUTPUT_FILE);
  const errors = path.join(resultsDir, ERRORS_FILE);
  const partsLeft = parts.every((p) => fs.existsSync(p.outputPath) && fs.existsSync(p.errorsPath));
  if (partsLeft) {
    await concat(parts.map((p) => p.outputPath), output);
    await concat(parts.map((p) => p.errorsPath), errors);
    await fs.promises.rm(path.join(resultsDir, PARTS_DIR), { recursive: true, force: true });
  } else if (!fs.existsSync(output) || !fs.existsSync(errors)) {
    throw new Error(`results of ${resultsDir} are incomplete: part files and merged files are both missing`);
  }
  const expected = parts.reduce((a, p) => ({ out: a.out + p.outputCount, err: a.err + p.errorsCount }), { out: 0, err: 0 });
  return {
    output_path: output,
    errors_path: errors,
    output_count: partsLeft ? expected.out : await countLines(output),
    errors_count: partsLeft ? expected.err : await countLines(errors),
  };
}
