/**
 * A job's `manifest.json.out`, which Bedrock writes beside its output files when the job ends (provider-apis-3.md
 * section 1, "Outputs"): `{totalRecordCount, processedRecordCount, successRecordCount, errorRecordCount,
 * inputTokenCount, outputTokenCount}`.
 *
 * What anybatch takes from it:
 * - the provider batch's counts, where GetModelInvocationJob lacks them (the job's own counts come first: both are
 *   Bedrock's word about the same job, and the job's is read live);
 * - its tokens, as the provider batch's `usage` (the field OpenAI's batch object carries, summed over the parts into
 *   the anybatch batch's `usage`). The cost is still the result lines' usage per model (src/cost).
 *
 * What it never decides: a request's outcome. Each request is its output line, and a request without a line is an
 * error line (the results writer); the batch's final counts are those of the results. A manifest whose counts
 * disagree with the lines is logged, naming both, and the lines stand: they are what the results hold, one per
 * request, while the manifest is a summary that cannot say which requests it counted.
 *
 * A missing, unreadable or malformed manifest changes nothing but the log: the batch reads as it did without one.
 */
import type { BatchUsage } from '../../contract/batch';
import { awsFailure } from './aws-errors';
import type { S3Location } from './options';

export const MANIFEST_NAME = 'manifest.json.out';

/** More than a manifest of six counts could ever be: a bigger object is not one, and is not read whole. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

export const MANIFEST_FIELDS = ['totalRecordCount', 'processedRecordCount', 'successRecordCount', 'errorRecordCount', 'inputTokenCount', 'outputTokenCount'] as const;

export type ManifestField = (typeof MANIFEST_FIELDS)[number];

/** The manifest's fields that were present (each a non-negative integer). */
export type BedrockManifest = Partial<Record<ManifestField, number>>;

export type ManifestRead =
  | { kind: 'read'; manifest: BedrockManifest }
  /** No manifest beside the outputs (a job that failed or expired before it ran writes none). */
  | { kind: 'missing' }
  /** There is one, but it is not a manifest: `problem` says why. */
  | { kind: 'malformed'; problem: string }
  /** It could not be downloaded (permission, network): `problem` is the failure. */
  | { kind: 'unreadable'; problem: string };

/** Downloads one object (the adapter's S3 client; a stand-in in tests). Rejects as the SDK does. */
export type GetObject = (bucket: string, key: string) => Promise<{ Body?: unknown; ContentLength?: number }>;

/** Where the manifest of job `jobId` is: `{outputS3Uri}/{jobId}/manifest.json.out`. */
export function manifestKey(output: S3Location, jobId: string): string {
  return `${output.prefix}${jobId}/${MANIFEST_NAME}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The manifest in `text`, or what makes it not one. Fields it does not know are ignored; a known one must be a count. */
export function parseManifest(text: string): { manifest: BedrockManifest } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { problem: `not JSON (${(err as Error).message})` };
  }
  if (!isObject(json)) return { problem: `not a JSON object (got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)})` };
  const manifest: BedrockManifest = {};
  for (const field of MANIFEST_FIELDS) {
    const value = json[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return { problem: `${field} is not a count (got ${JSON.stringify(value)})` };
    manifest[field] = value;
  }
  if (Object.keys(manifest).length === 0) return { problem: `it holds none of ${MANIFEST_FIELDS.join(', ')}` };
  return { manifest };
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** Reads the manifest at `bucket`/`key`, never failing: what went wrong is in the answer. */
export async function readManifest(get: GetObject, bucket: string, key: string, label = 'Bedrock'): Promise<ManifestRead> {
  const where = `s3://${bucket}/${key}`;
  let object: { Body?: unknown; ContentLength?: number };
  try {
    object = await get(bucket, key);
  } catch (err) {
    if (isMissing(err)) return { kind: 'missing' };
    return { kind: 'unreadable', problem: awsFailure(label, 'download manifest', err, where).message };
  }
  if (object.ContentLength !== undefined && object.ContentLength > MAX_MANIFEST_BYTES) {
    destroy(object.Body);
    return { kind: 'malformed', problem: `${object.ContentLength} bytes, more than a manifest's ${MAX_MANIFEST_BYTES}` };
  }
  const body = object.Body;
  if (!isAsyncIterable(body)) return { kind: 'unreadable', problem: `${label} download manifest (${where}) came back without a body` };
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      bytes += buffer.length;
      if (bytes > MAX_MANIFEST_BYTES) {
        destroy(body);
        return { kind: 'malformed', problem: `more than a manifest's ${MAX_MANIFEST_BYTES} bytes` };
      }
      chunks.push(buffer);
    }
  } catch (err) {
    return { kind: 'unreadable', problem: `${label} download manifest failed (${where}): ${(err as Error).message}` };
  }
  const parsed = parseManifest(Buffer.concat(chunks).toString('utf8'));
  return 'manifest' in parsed ? { kind: 'read', manifest: parsed.manifest } : { kind: 'malformed', problem: parsed.problem };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

function destroy(body: unknown): void {
  const stream = body as { destroy?: () => void } | undefined;
  if (typeof stream?.destroy === 'function') stream.destroy();
}

/** The manifest's tokens as a batch's `usage`, when it counts both (one alone would read as a total it is not). */
export function manifestUsage(manifest: BedrockManifest): BatchUsage | null {
  const input = manifest.inputTokenCount;
  const output = manifest.outputTokenCount;
  if (input === undefined || output === undefined) return null;
  return { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output };
}

/** What a part's output files held, counted as its results were read. */
export interface LinesRead {
  /** Lines with a model output. */
  succeeded: number;
  /** Lines with Bedrock's error. */
  failed: number;
  /** The part's requests (records sent). */
  requests: number;
}

/**
 * Where the manifest's counts disagree with the output lines, the warning that says so (null when they agree on
 * every count the manifest has). The lines stand: see the file's comment.
 */
export function manifestDisagreement(manifest: BedrockManifest, lines: LinesRead, job: string): string | null {
  const differs: string[] = [];
  if (manifest.successRecordCount !== undefined && manifest.successRecordCount !== lines.succeeded) differs.push(`successRecordCount ${manifest.successRecordCount}, output lines with a model output ${lines.succeeded}`);
  if (manifest.errorRecordCount !== undefined && manifest.errorRecordCount !== lines.failed) differs.push(`errorRecordCount ${manifest.errorRecordCount}, error lines ${lines.failed}`);
  if (manifest.totalRecordCount !== undefined && manifest.totalRecordCount !== lines.requests) differs.push(`totalRecordCount ${manifest.totalRecordCount}, records sent ${lines.requests}`);
  if (differs.length === 0) return null;
  return `Bedrock job ${job}: ${MANIFEST_NAME} disagrees with the output files (${differs.join('; ')}). The results follow the output lines, one per request; a request without a line is reported as an error.`;
}
