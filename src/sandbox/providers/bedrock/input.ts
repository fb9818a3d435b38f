/**
 * A job's validation: reading its input from S3 (one `.jsonl` object, or every `.jsonl` under a prefix), checking each
 * line is a record (records.ts) and the job's size against the quotas Bedrock checks while `Validating`
 * (docs/provider-apis-3.md §1, "Limits": minimum and maximum records, job size), and keeping a local copy of the
 * records, so the outputs can be written later without reading S3 again. An input that cannot be read fails the job
 * with a message naming its S3 URI. Never rejects: every problem is the job's failure message.
 */
import { once } from 'node:events';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { promises as fs } from 'node:fs';
import { requestFaulted, type RequestFault } from '../../kernel/faults';
import { openJsonlOutput } from '../../kernel/jsonl';
import { generatedRecordId, parseRecordLine } from './records';
import { recordError, type RecordContext } from './reply';
import { describeS3Error, folderKey, parseS3Uri, s3UriOf, type JobStorage } from './s3';

/** One input object and its local copy of `{recordId, modelInput}` lines. */
export interface LoadedFile {
  uri: string;
  /** What its output is named after: the key below the input folder (`data.jsonl` -> `data.jsonl.out`). */
  name: string;
  localPath: string;
  records: number;
}

export interface LoadedInput {
  files: LoadedFile[];
  total: number;
  /** `failedBefore[i]`: records among the first i (in run order, file after file) that end as error records. */
  failedBefore: Uint32Array;
}

export type InputState = { state: 'loading' } | { state: 'valid'; input: LoadedInput } | { state: 'invalid'; message: string };

export interface LoadSpec {
  jobId: string;
  inputUri: string;
  /** Where the local copies go (created here). */
  dir: string;
  record: RecordContext;
  requestFault: RequestFault | null;
  minRecords: number;
  maxRecords: number;
  maxBytes: number;
  /** Faults as they were when the job was created. */
  failValidation: boolean;
  models: readonly string[] | undefined;
}

class Invalid extends Error {}

export async function loadInput(storage: JobStorage, spec: LoadSpec): Promise<InputState> {
  try {
    return { state: 'valid', input: await load(storage, spec) };
  } catch (err) {
    if (err instanceof Invalid) return { state: 'invalid', message: err.message };
    return { state: 'invalid', message: `Unable to read the input data at ${spec.inputUri}: ${describeS3Error(err)}. Check that the S3 URI exists and that the service role can access it.` };
  }
}

async function load(storage: JobStorage, spec: LoadSpec): Promise<LoadedInput> {
  if (spec.failValidation) throw new Invalid('The batch inference job failed validation (injected by the sandbox failValidation fault).');
  if (spec.models && !spec.models.includes(spec.record.modelId)) {
    throw new Invalid(`The provided model identifier is invalid: ${spec.record.modelId} (not among the models the sandbox's models fault lists).`);
  }
  const location = parseS3Uri(spec.inputUri);
  if (!location) throw new Invalid(`The input S3 URI ${spec.inputUri} is not an s3:// URI.`);
  const single = location.key.endsWith('.jsonl');
  const folder = single ? '' : folderKey(location.key);
  const objects = single ? [{ key: location.key }] : await storage.listJsonl(location.bucket, folder);
  if (objects.length === 0) throw new Invalid(`No .jsonl input files were found at ${spec.inputUri}.`);
  await fs.mkdir(spec.dir, { recursive: true });

  const files: LoadedFile[] = [];
  const failed: number[] = [];
  let bytes = 0;
  for (const [n, object] of objects.entries()) {
    const uri = s3UriOf({ bucket: location.bucket, key: object.key });
    const name = single ? path.posix.basename(object.key) : object.key.slice(folder.length);
    const localPath = path.join(spec.dir, `input-${n}.jsonl`);
    const source = await storage.openLines(location.bucket, object.key);
    const out = openJsonlOutput(localPath);
    let records = 0;
    try {
      bytes += source.size;
      if (bytes > spec.maxBytes) throw new Invalid(`The input at ${spec.inputUri} is more than ${spec.maxBytes} bytes, the batch inference job size quota.`);
      let line = 0;
      for await (const raw of source.lines) {
        line++;
        const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
        if (text.trim() === '') continue;
        const index = failed.length;
        const parsed = parseRecordLine(text, { uri, line }, () => generatedRecordId(spec.jobId, n, line));
        if ('problem' in parsed) throw new Invalid(parsed.problem);
        if (index + 1 > spec.maxRecords) {
          throw new Invalid(`The input at ${spec.inputUri} holds more than ${spec.maxRecords} records, the maximum number of records per batch inference job.`);
        }
        failed.push(recordError(spec.record, parsed.modelInput, requestFaulted(spec.requestFault, index)) ? 1 : 0);
        records++;
        if (!out.write(`${JSON.stringify(parsed)}\n`)) await once(out, 'drain');
      }
      out.end();
      await finished(out);
    } finally {
      source.close();
      out.destroy();
    }
    files.push({ uri, name, localPath, records });
  }

  const total = failed.length;
  if (total < spec.minRecords) {
    throw new Invalid(
      `The batch inference job has ${total} records, fewer than the minimum number of records per batch inference job (${spec.minRecords}) for model ${spec.record.modelId}. Add records or check the "Minimum number of records per batch inference job" quota.`,
    );
  }
  const failedBefore = new Uint32Array(total + 1);
  for (let i = 0; i < total; i++) failedBefore[i + 1] = failedBefore[i] + failed[i];
  return { files, total, failedBefore };
}
