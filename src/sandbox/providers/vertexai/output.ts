/**
 * A job's predictions: `<outputUriPrefix>/prediction-model-<timestamp>/predictions.jsonl` in the sandbox's Cloud
 * Storage (the directory is the job's `outputInfo.gcsOutputDirectory`; docs/provider-apis-3.md section 2 "Outputs").
 * Each line is the input line with all its fields, plus `status` ("" for an answered line, the error text for a
 * failed one), `processed_time` and, when answered, `response`: the shape Vertex writes per the batch output
 * readers that parse it (BerriAI/litellm#25627: every line has `request`, `processed_time` and a `status` that is
 * empty on success). Lines come in no guaranteed order (python-aiplatform#1166): a seeded shuffle of the answered
 * lines, streamed so memory stays flat.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LazyJsonlWriter, readInputLines } from '../../kernel/jsonl';
import { copyShuffled, resultOrder } from '../../kernel/shuffle';
import type { ObjectStorage } from './dialects';
import { lineFailure, lineResponse, statusText, type LineContext } from './outcome';
import type { GcsUri } from './spec';

export interface PredictionsJob {
  id: string;
  requestsPath: string;
  /** When lines started to run; line i was answered i / rate seconds later. */
  runMs: number;
  rate: number;
  output: GcsUri;
}

/** The output directory's object-name prefix below the bucket: `<prefix path>/prediction-model-<start time>`. */
export function outputDirectory(output: GcsUri, runMs: number): string {
  // Vertex stamps the directory with microseconds: 2024-11-01T18:05:27.105000Z.
  const stamp = new Date(runMs).toISOString().replace(/Z$/, '000Z');
  const base = output.name.replace(/\/+$/, '');
  return `${base === '' ? '' : `${base}/`}prediction-model-${stamp}`;
}

export function outputDirectoryUri(output: GcsUri, runMs: number): string {
  return `gs://${output.bucket}/${outputDirectory(output, runMs)}`;
}

/** Answers the first `processed` lines and stores them, shuffled, as `predictions.jsonl`; nothing when none ran. */
export async function writePredictions(job: PredictionsJob, processed: number, ctx: LineContext, storage: ObjectStorage, tmpDir: string): Promise<void> {
  const writer = new LazyJsonlWriter(tmpDir);
  let shuffled: string | null = null;
  try {
    let index = 0;
    for await (const { text } of readInputLines(job.requestsPath)) {
      if (index >= processed) break;
      const line = JSON.parse(text) as Record<string, unknown>;
      const failure = lineFailure(line, index, ctx);
      const processedTime = new Date(job.runMs + Math.floor((index * 1000) / job.rate)).toISOString();
      await writer.write(
        failure
          ? { ...line, status: statusText(failure), processed_time: processedTime }
          : { ...line, status: '', processed_time: processedTime, response: lineResponse(line, ctx, `${job.id}/${index}`) },
      );
      index++;
    }
    const written = await writer.close();
    if (!written) return;
    shuffled = path.join(tmpDir, `predictions-${job.id}.jsonl`);
    await copyShuffled(written.path, shuffled, written.offsets, resultOrder(written.offsets.length - 1, job.id));
    await storage.putFile(job.output.bucket, `${outputDirectory(job.output, job.runMs)}/predictions.jsonl`, shuffled, 'application/jsonl');
    shuffled = null; // moved into the store
  } finally {
    await writer.discard();
    if (shuffled) await fs.rm(shuffled, { force: true });
  }
}
