/** HTTP handlers of `/v1/batches`: create (with the synchronous checks), list, retrieve, cancel. */
import { setTimeout as sleep } from 'node:timers/promises';
import { PROVIDERS } from '../providers/catalog';
import { badRequest, isPlainObject, readJsonBody, sendJson } from './http';
import { parseLimit } from './pagination';
import type { RouteContext, RouteInput } from './routes';
import { BATCH_ENDPOINTS, FILE_EXPIRY_SECONDS } from './wire';

const METADATA_LIMITS = PROVIDERS.openai.metadata ?? { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 };

export async function createBatch(ctx: RouteContext, { req, res }: RouteInput): Promise<void> {
  const body = await readJsonBody(req);
  if (!isPlainObject(body)) throw badRequest('The request body must be a JSON object.');
  const inputFileId = requiredString(body, 'input_file_id');
  const endpoint = requiredString(body, 'endpoint');
  if (!BATCH_ENDPOINTS.includes(endpoint)) {
    throw badRequest(`Invalid value for 'endpoint': '${endpoint}'. Supported values are: ${BATCH_ENDPOINTS.join(', ')}.`, 'endpoint', 'invalid_value');
  }
  const completionWindow = requiredString(body, 'completion_window');
  if (completionWindow !== '24h') {
    throw badRequest(`Invalid value for 'completion_window': '${completionWindow}'. Supported values are: '24h'.`, 'completion_window', 'invalid_value');
  }
  const metadata = checkMetadata(body.metadata);
  const outputExpiresAfterSeconds = checkOutputExpiry(body.output_expires_after);
  const inputFile = ctx.files.require(inputFileId, 'input_file_id');
  if (inputFile.purpose !== 'batch') {
    throw badRequest(
      `Invalid 'input_file_id': file ${inputFileId} has purpose '${inputFile.purpose}'; a batch input file must be uploaded with purpose 'batch'.`,
      'input_file_id',
      'invalid_value',
    );
  }
  const faults = ctx.faults.current;
  const batch = await ctx.batches.create({ inputFile, endpoint, completionWindow, metadata, outputExpiresAfterSeconds }, faults);
  ctx.counters.batchesCreated++;
  // The batch exists from here on; the delay only holds back the answer (a worker may die meanwhile).
  if (faults.createResponseDelayMs) await sleep(faults.createResponseDelayMs);
  sendJson(res, 200, batch);
}

function requiredString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (value === undefined || value === null) throw badRequest(`Missing required parameter: '${key}'.`, key, 'missing_required_parameter');
  if (typeof value !== 'string') throw badRequest(`Invalid type for '${key}': expected a string.`, key, 'invalid_type');
  return value;
}

function checkMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) throw badRequest("Invalid type for 'metadata': expected an object.", 'metadata', 'invalid_type');
  const entries = Object.entries(value);
  if (entries.length > METADATA_LIMITS.maxPairs) {
    throw badRequest(`Invalid 'metadata': too many properties. Expected at most ${METADATA_LIMITS.maxPairs}, got ${entries.length}.`, 'metadata', 'object_above_max_properties');
  }
  const metadata: Record<string, string> = {};
  for (const [key, item] of entries) {
    if (key.length > METADATA_LIMITS.maxKeyLength) {
      throw badRequest(`Invalid 'metadata': key '${key}' is longer than ${METADATA_LIMITS.maxKeyLength} characters.`, 'metadata', 'invalid_value');
    }
    if (typeof item !== 'string') throw badRequest(`Invalid type for 'metadata.${key}': expected a string.`, `metadata.${key}`, 'invalid_type');
    if (item.length > METADATA_LIMITS.maxValueLength) {
      throw badRequest(`Invalid 'metadata.${key}': string too long. Expected at most ${METADATA_LIMITS.maxValueLength} characters.`, `metadata.${key}`, 'string_above_max_length');
    }
    metadata[key] = item;
  }
  return metadata;
}

function checkOutputExpiry(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const seconds = isPlainObject(value) ? value.seconds : undefined;
  const valid =
    isPlainObject(value) &&
    value.anchor === 'created_at' &&
    typeof seconds === 'number' &&
    Number.isInteger(seconds) &&
    seconds >= FILE_EXPIRY_SECONDS.min &&
    seconds <= FILE_EXPIRY_SECONDS.max;
  if (!valid) {
    throw badRequest(
      `Invalid 'output_expires_after': expected {anchor: 'created_at', seconds: ${FILE_EXPIRY_SECONDS.min}..${FILE_EXPIRY_SECONDS.max}}.`,
      'output_expires_after',
      'invalid_value',
    );
  }
  return seconds;
}

export async function listBatches(ctx: RouteContext, { res, url }: RouteInput): Promise<void> {
  const limit = parseLimit(url.searchParams.get('limit'), 20, 100);
  sendJson(res, 200, await ctx.batches.list(url.searchParams.get('after'), limit));
}

export async function retrieveBatch(ctx: RouteContext, { res, params }: RouteInput): Promise<void> {
  sendJson(res, 200, await ctx.batches.retrieve(params[0]));
}

export async function cancelBatch(ctx: RouteContext, { res, params }: RouteInput): Promise<void> {
  const { batch, changed } = await ctx.batches.cancel(params[0]);
  if (changed) ctx.counters.batchCancels++;
  sendJson(res, 200, batch);
}
