/**
 * Writes a finished batch's output and error files by streaming its input again, one line at a time, so
 * memory stays flat however many requests the batch has.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { stableHex } from './ids';
import { readInputLines } from './jsonl';
import type { UnrunCode } from './lifecycle';
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
}

export interface WrittenFile {
  path: string;
  bytes: number;
}

export interface WrittenOutputs {
  output: WrittenFile | null;
  error: WrittenFile | null;
}

/** Streams into a temp file opened on the first line, so a file that would be empty is never created. */
class LazyJsonlWriter {
  private stream: WriteStream | null = null;
  private failure: Error | null = null;
  private readonly path: string;

  constructor(tmpDir: string) {
    this.path = path.join(tmpDir, `output-${randomBytes(8).toString('hex')}`);
  }

  async write(line: OutputLineJson): Promise<void> {
    if (!this.stream) {
      this.stream = createWriteStream(this.path);
      // A write error arrives later as an event; keep it for the next call instead of crashing the process.
      this.stream.on('error', (err) => {
        this.failure = err;
      });
    }
    if (this.failure) throw this.failure;
    if (!this.stream.write(`${JSON.stringify(line)}\n`)) await once(this.stream, 'drain');
  }

  async close(): Promise<WrittenFile | null> {
    if (!this.stream) return null;
    if (this.failure) throw this.failure;
    this.stream.end();
    await finished(this.stream);
    return { path: this.path, bytes: this.stream.bytesWritten };
  }

  async discard(): Promise<void> {
    if (this.stream) {
      this.stream.destroy();
      await finished(this.stream).catch(() => undefined);
    }
    await fs.rm(this.path, { force: true });
  }
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
        const outcome = respond(job.endpoint, request.body, { key: `${job.batchId}/${request.custom_id}`, created: Math.floor(ranAtMs / 1000) });
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
    return { output: await output.close(), error: await error.close() };
  } catch (err) {
    await Promise.all([output.discard(), error.discard()]);
    throw err;
  }
}
