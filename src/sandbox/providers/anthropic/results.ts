/**
 * Writes an ended batch's results file from its stored requests, in two streamed passes so memory stays
 * flat however many requests there are: results in request order to a scratch file (noting where each
 * line starts), then those lines copied in a shuffled order into the final file.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { RequestFault } from '../../kernel/faults';
import { openJsonlOutput, readInputLines } from '../../kernel/jsonl';
import { copyShuffled, resultOrder } from '../../kernel/shuffle';
import { requestFaulted } from '../../kernel/faults';
import { processRequest } from './outcome';
import type { MessageBatchCountsJson, MessageBatchResultJson, ResultLineJson, StoredRequest } from './wire';

export interface ResultsJob {
  batchId: string;
  requestsPath: string;
  total: number;
  /** Requests processed, in request order; the rest are reported as `unprocessed`. */
  processed: number;
  unprocessed: 'canceled' | 'expired' | null;
  failAll: boolean;
  /** Which requests end `errored` with an injected api_error (absent or null: none). */
  requestFault?: RequestFault | null;
  tmpDir: string;
  target: string;
}

export interface WrittenResults {
  bytes: number;
  counts: MessageBatchCountsJson;
}

export async function writeResults(job: ResultsJob): Promise<WrittenResults> {
  const orderedPath = path.join(job.tmpDir, `results-${randomBytes(8).toString('hex')}`);
  // offsets[i] is where result i starts in the scratch file; offsets[total] is its size.
  const offsets = new Float64Array(job.total + 1);
  try {
    const counts = await writeInRequestOrder(job, orderedPath, offsets);
    await copyShuffled(orderedPath, job.target, offsets, resultOrder(job.total, job.batchId));
    return { bytes: offsets[job.total], counts };
  } catch (err) {
    await fs.rm(job.target, { force: true });
    throw err;
  } finally {
    await fs.rm(orderedPath, { force: true });
  }
}

async function writeInRequestOrder(job: ResultsJob, orderedPath: string, offsets: Float64Array): Promise<MessageBatchCountsJson> {
  const counts: MessageBatchCountsJson = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
  const out = openJsonlOutput(orderedPath);
  try {
    let index = 0;
    for await (const { text } of readInputLines(job.requestsPath)) {
      if (index >= job.total) throw new Error(`Stored requests of ${job.batchId} hold more than ${job.total} lines.`);
      const request = JSON.parse(text) as StoredRequest;
      const result: MessageBatchResultJson =
        index < job.processed || job.unprocessed === null
          ? processRequest(request, `${job.batchId}/${request.custom_id}`, job.failAll, requestFaulted(job.requestFault ?? null, index))
          : { type: job.unprocessed };
      counts[result.type]++;
      const line: ResultLineJson = { custom_id: request.custom_id, result };
      const bytes = Buffer.from(`${JSON.stringify(line)}\n`);
      offsets[index + 1] = offsets[index] + bytes.length;
      index++;
      if (!out.write(bytes)) await once(out, 'drain');
    }
    if (index !== job.total) throw new Error(`Stored requests of ${job.batchId} hold ${index} lines, expected ${job.total}.`);
    out.end();
    await finished(out);
  } finally {
    out.destroy();
  }
  return counts;
}
