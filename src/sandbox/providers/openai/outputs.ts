/**
 * Writes a finished batch's output and error files by streaming its input again, one line at a time, so
 * memory stays flat however many requests the batch has; then, where the provider guarantees no order,
 * shuffles each file's lines with a seeded permutation.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { requestFaulted, type RequestFault } from '../../kernel/faults';
import { stableHex } from '../../kernel/ids';
import { LazyJsonlWriter, readInputLines, type WrittenFile, type WrittenLines } from '../../kernel/jsonl';
import { copyShuffled, resultOrder } from '../../kernel/shuffle';
import type { UnrunCode } from './lifecycle';
import { faultedOutcome } from './request-fault';
import { respond } from './responder';
import type { OutputLineJson } from './wire';

const UNRUN_MESSAGES: Record<UnrunCode, string> = {
  batch_cancelled: 'This request was not executed because the batch was cancelled.',
  batch_expired: 'This request could not be executed before the completion window expired.',
};

export interface OutputJob {
  batchId: string;
  endpoint: string;
  inputPath: string;
  /** Requests run, in file order; the rest are reported with `unrun`. */
  processed: number;
  unrun: UnrunCode | null;
  /** When the run started and how fast it went, to date each response. */
  runStartMs: number;
  rate: number;
  tmpDir: string;
  /** Seeds the shuffled order of each file's lines; null keeps input order. */
  shuffleSeed: string | null;
  /** Which requests end as injected 500 error lines (absent or null: none). */
  requestFault?: RequestFault | null;
}

export interface WrittenOutputs {
  output: WrittenFile | null;
  error: WrittenFile | null;
}

export async function writeOutputs(job: OutputJob): Promise<WrittenOutputs> {
  const output = new LazyJsonlWriter(job.tmpDir);
  const error = new LazyJsonlWriter(job.tmpDir);
  try {
    let index = 0;
    // The input passed validation, so every non-blank line is a well-formed request, in run order.
    for await (const { text } of readInputLines(job.inputPath)) {
      const request = JSON.parse(text) as { custom_id: string; body: Record<string, unknown> };
      const id = `batch_req_${stableHex(job.batchId, index)}`;
      if (index < job.processed) {
        const ranAtMs = job.runStartMs + ((index + 1) * 1000) / job.rate;
        const outcome = requestFaulted(job.requestFault ?? null, index)
          ? faultedOutcome()
          : respond(job.endpoint, request.body, { key: `${job.batchId}/${request.custom_id}`, created: Math.floor(ranAtMs / 1000) });
        const line: OutputLineJson = {
          id,
          custom_id: request.custom_id,
          response: { status_code: outcome.statusCode, request_id: `req_${stableHex('request', job.batchId, index)}`, body: outcome.body },
          error: null,
        };
        await (outcome.statusCode >= 200 && outcome.statusCode < 300 ? output : error).write(line);
      } else if (job.unrun) {
        await error.write({ id, custom_id: request.custom_id, response: null, error: { code: job.unrun, message: UNRUN_MESSAGES[job.unrun] } });
      }
      index++;
    }
    const written = { output: await output.close(), error: await error.close() };
    if (job.shuffleSeed === null) return written;
    const shuffledOutput = await shuffled(written.output, `${job.shuffleSeed}/output`, job.tmpDir);
    try {
      return { output: shuffledOutput, error: await shuffled(written.error, `${job.shuffleSeed}/error`, job.tmpDir) };
    } catch (err) {
      if (shuffledOutput) await fs.rm(shuffledOutput.path, { force: true });
      throw err;
    }
  } catch (err) {
    await Promise.all([output.discard(), error.discard()]);
    throw err;
  }
}

/** A copy of `file` with its lines in a seeded order; the ordered file is removed. */
async function shuffled(file: WrittenLines | null, seed: string, tmpDir: string): Promise<WrittenFile | null> {
  if (!file) return null;
  const target = path.join(tmpDir, `shuffled-${randomBytes(8).toString('hex')}`);
  try {
    await copyShuffled(file.path, target, file.offsets, resultOrder(file.offsets.length - 1, seed));
  } catch (err) {
    await fs.rm(target, { force: true });
    throw err;
  } finally {
    await fs.rm(file.path, { force: true });
  }
  return { path: target, bytes: file.bytes };
}
