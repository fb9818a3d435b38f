/**
 * A job's input, read from the sandbox's Cloud Storage when the job is created and kept as the job's own copy
 * (`<dataDir>/vertexai/jobs/<id>.jsonl`), so the job runs on what it was given even if the objects change later.
 * Vertex reads its input once the job runs and reports what it cannot read as a FAILED job, not a refused create:
 * `error.code` 3 with "Failed to import data. ..." (as reported in googleapis/python-aiplatform#4110 and #4112,
 * even for a missing dataset), which the sandbox follows for a missing object, a line that is not a JSON object,
 * an empty input, too many lines or bytes, and an output bucket that does not exist. Lines are classified as they are
 * copied, so the counts of a running job are known without answering any line.
 */
import { once } from 'node:events';
import { createWriteStream, promises as fs } from 'node:fs';
import { finished } from 'node:stream/promises';
import { isPlainObject } from '../../kernel/http';
import { readInputLines } from '../../kernel/jsonl';
import type { ObjectStorage } from './dialects';
import { lineFailure, type LineContext } from './outcome';
import type { JobSpec } from './spec';

/** A job's `error` (a google.rpc.Status). */
export interface JobError {
  code: number;
  message: string;
}

export interface InputSnapshot {
  total: number;
  /** `failedBefore[i]`: how many of the first i lines fail. */
  failedBefore: Uint32Array;
  failure: JobError | null;
}

const INVALID_ARGUMENT = 3;

class ImportFailure extends Error {}

function importFailure(message: string): ImportFailure {
  return new ImportFailure(`Failed to import data. ${message}`);
}

/** Copies the input of `spec` into `requestsPath` (line by line, streamed) and classifies its lines. */
export interface InputLimits {
  maxRequests: number;
  /** Most bytes of the input files together. */
  maxBytes: number;
}

export async function snapshotInput(storage: ObjectStorage, spec: JobSpec, requestsPath: string, ctx: LineContext, limits: InputLimits): Promise<InputSnapshot> {
  const out = createWriteStream(requestsPath);
  out.on('error', () => undefined); // surfaced by `finished` below
  const failed: number[] = [0];
  let bytes = 0;
  try {
    if (!storage.hasBucket(spec.output.bucket)) throw importFailure(`Not found: the bucket of the output URI prefix ${spec.outputUriPrefix} does not exist.`);
    for (const [i, input] of spec.inputs.entries()) {
      const uri = spec.inputUris[i];
      const object = storage.locate(input.bucket, input.name);
      if (!object) throw importFailure(`Not found: the input file ${uri} does not exist.`);
      bytes += object.size;
      if (bytes > limits.maxBytes) throw importFailure(`The input is more than ${limits.maxBytes} bytes, the most one job takes.`);
      for await (const { line, text } of readInputLines(object.path)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (!isPlainObject(parsed)) throw importFailure(`Line ${line} of ${uri} is not a JSON object.`);
        if (failed.length > limits.maxRequests) throw importFailure(`The input holds more than ${limits.maxRequests} requests, the most one job takes.`);
        failed.push(failed[failed.length - 1] + (lineFailure(parsed, failed.length - 1, ctx) ? 1 : 0));
        if (!out.write(`${text}\n`)) await once(out, 'drain');
      }
    }
    if (failed.length === 1) throw importFailure(`The input ${spec.inputUris.join(', ')} holds no requests.`);
    out.end();
    await finished(out);
    return { total: failed.length - 1, failedBefore: Uint32Array.from(failed), failure: null };
  } catch (err) {
    out.destroy();
    await fs.rm(requestsPath, { force: true });
    if (!(err instanceof ImportFailure)) throw err;
    return { total: 0, failedBefore: Uint32Array.of(0), failure: { code: INVALID_ARGUMENT, message: err.message } };
  }
}
