/**
 * A job's outputs, where Bedrock writes them (docs/provider-apis-3.md §1, "Outputs"): one `{input name}.out` per input
 * file under `{outputS3Uri}/{jobId}/`, lines `{recordId, modelInput, modelOutput}` or `{recordId, modelInput, error}`
 * in no guaranteed order (the kernel's seeded shuffle, so consumers must join on recordId), and `manifest.json.out`
 * beside them with the job's counts and tokens. Only the records processed before the job ended are written: all of
 * them for a completed job, those answered before a stop or the timeout otherwise.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { requestFaulted, type RequestFault } from '../../kernel/faults';
import { LazyJsonlWriter, readInputLines } from '../../kernel/jsonl';
import { copyShuffled, resultOrder } from '../../kernel/shuffle';
import type { LoadedFile } from './input';
import type { InputRecord } from './records';
import { answerRecord, type RecordContext } from './reply';
import { folderKey, parseS3Uri, type JobStorage } from './s3';
import type { ManifestJson } from './wire';

export interface OutputSpec {
  jobId: string;
  outputUri: string;
  files: readonly LoadedFile[];
  /** Records answered, counted in run order across the files. */
  processed: number;
  total: number;
  record: RecordContext;
  requestFault: RequestFault | null;
  tmpDir: string;
}

/** The output line of one record. */
export function outputLine(ctx: RecordContext, record: InputRecord, faulted: boolean, key: string): { line: Record<string, unknown>; inputTokens: number; outputTokens: number } {
  const outcome = answerRecord(ctx, record.modelInput, faulted, key);
  if (outcome.error) return { line: { recordId: record.recordId, modelInput: record.modelInput, error: outcome.error }, inputTokens: 0, outputTokens: 0 };
  const { modelOutput, inputTokens, outputTokens } = outcome.reply;
  return { line: { recordId: record.recordId, modelInput: record.modelInput, modelOutput }, inputTokens, outputTokens };
}

/** Writes the output files and the manifest; returns the manifest. */
export async function writeOutputs(storage: JobStorage, spec: OutputSpec): Promise<ManifestJson> {
  const location = parseS3Uri(spec.outputUri);
  if (!location) throw new Error(`The output S3 URI ${spec.outputUri} is not an s3:// URI.`);
  const base = `${folderKey(location.key)}${spec.jobId}/`;
  const manifest: ManifestJson = { totalRecordCount: spec.total, processedRecordCount: 0, successRecordCount: 0, errorRecordCount: 0, inputTokenCount: 0, outputTokenCount: 0 };
  let index = 0;
  for (const file of spec.files) {
    if (index >= spec.processed) break;
    const writer = new LazyJsonlWriter(spec.tmpDir);
    try {
      for await (const { text } of readInputLines(file.localPath)) {
        if (index >= spec.processed) break;
        const record = JSON.parse(text) as InputRecord;
        const { line, inputTokens, outputTokens } = outputLine(spec.record, record, requestFaulted(spec.requestFault, index), `${spec.jobId}/${index}`);
        if ('error' in line) manifest.errorRecordCount++;
        else manifest.successRecordCount++;
        manifest.inputTokenCount += inputTokens;
        manifest.outputTokenCount += outputTokens;
        manifest.processedRecordCount++;
        index++;
        await writer.write(line);
      }
      const written = await writer.close();
      if (written) await putShuffled(storage, spec, location.bucket, `${base}${file.name}.out`, written.path, written.offsets);
    } finally {
      await writer.discard();
    }
  }
  await storage.putJson(location.bucket, `${base}manifest.json.out`, manifest);
  return manifest;
}

async function putShuffled(storage: JobStorage, spec: OutputSpec, bucket: string, key: string, ordered: string, offsets: number[]): Promise<void> {
  const shuffled = path.join(spec.tmpDir, `bedrock-out-${randomBytes(8).toString('hex')}`);
  try {
    await copyShuffled(ordered, shuffled, offsets, resultOrder(offsets.length - 1, `${spec.jobId}/${key}`));
    await storage.putFile(bucket, key, shuffled);
  } finally {
    await fs.rm(shuffled, { force: true });
  }
}
