/** HTTP handlers of `/v1/batches`: create (with the synchronous checks), list, retrieve, cancel. */
import { setTimeout as sleep } from 'node:timers/promises';
import { badRequest, isPlainObject, readJsonBody, sendJson } from '../../kernel/http';
import type { ProviderLimits } from '../../kernel/limits';
import { parseLimit } from '../../kernel/pagination';
import type { RouteInput } from '../../kernel/provider';
import type { OpenAIContext } from './context';
import { BATCH_ENDPOINTS, FILE_EXPIRY_SECONDS } from './wire';

/** Used when the provider's batches carry metadata but the table gives no limits for it. */
const DEFAULT_METADATA_LIMITS = { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 };

export async function createBatch(ctx: OpenAIContext, { req, res }: RouteInput): Promise<void> {
  const body = await readJsonBody(req);
  if (!isPlainObject(body)) throw badRequest('The request body must be a JSON object.');
  const inputFileId = requiredString(body, 'input_file_id');
  const endpoint = requiredString(body, 'endpoint');
  const spelling = ctx.dialect.endpoints;
  const runEndpoint = spelling ? spelling.canonical(endpoint) : BATCH_ENDPOINTS.includes(endpoint) ? endpoint : null;
  if (runEndpoint === null) {
    const accepted = spelling ? spelling.accepted : BATCH_ENDPOINTS.join(', ');
    throw badRequest(`Invalid value for 'endpoint': '${endpoint}'. Supported values are: ${accepted}.`, 'endpoint', 'invalid_value');
  }
  const completionWindow = requiredString(body, 'completion_window');
  const windowSeconds = ctx.dialect.completionWindow.seconds(completionWindow);
  if (windowSeconds === null) {
    throw badRequest(`Invalid value for 'completion_window': '${completionWindow}'. ${ctx.dialect.completionWindow.accepted}`, 'completion_window', 'invalid_value');
  }
  const metadata = checkMetadata(body.metadata, ctx.limits.metadata ?? DEFAULT_METADATA_LIMITS, ctx.dialect.metadataLists ?? false);
  const outputExpiresAfterSeconds = checkOutputExpiry(body.output_expires_after);
  const inputFile = ctx.files.require(inputFileId, 'input_file_id');
  if (inputFile.purpose !== 'batch') {
    throw badRequest(
      `Invalid 'input_file_id': file ${inputFileId} has purpose '${inputFile.purpose}'; a batch input file must be uploaded with purpose 'batch'.`,
      'input_file_id',
      'invalid_value',
    );
  }
  const faults = ctx.kernel.faults.current;
  const batch = await ctx.batches.create({ inputFile, endpoint, runEndpoint, completionWindow, windowSeconds, metadata, outputExpiresAfterSeconds }, faults);
  ctx.counters.batchesCreated++;
  // The batch exists from here on; the delay only holds back the answer (a worker may die meanwhile).
  if (faults.createResponseDelayMs) await sleep(faults.createResponseDelayMs);
  if (ctx.kernel.faults.losesCreateResponse(res)) return;
  sendJson(res, 200, batch);
}

function requiredString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (value === undefined || value === null) throw badRequest(`Missing required parameter: '${key}'.`, key, 'missing_required_parameter');
  if (typeof value !== 'string') throw badRequest(`Invalid type for '${key}': expected a string.`, key, 'invalid_type');
  return value;
}

/** A metadata value's length as its limit counts it: a list's longest item (where lists are allowed). */
function valueLength(item: string | string[]): number {
  return typeof item === 'string' ? item.length : Math.max(0, ...item.map((v) => v.length));
}

function checkMetadata(value: unknown, limits: NonNullable<ProviderLimits['metadata']>, lists: boolean): Record<string, string | string[]> | null {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) throw badRequest("Invalid type for 'metadata': expected an object.", 'metadata', 'invalid_type');
  const entries = Object.entries(value);
  if (entries.length > limits.maxPairs) {
    throw badRequest(`Invalid 'metadata': too many properties. Expected at most ${limits.maxPairs}, got ${entries.length}.`, 'metadata', 'object_above_max_properties');
  }
  const metadata: Record<string, string | string[]> = {};
  for (const [key, item] of entries) {
    if (key.length > limits.maxKeyLength) {
      throw badRequest(`Invalid 'metadata': key '${key}' is longer than ${limits.maxKeyLength} characters.`, 'metadata', 'invalid_value');
    }
    const isList = lists && Array.isArray(item) && item.every((v) => typeof v === 'string');
    if (typeof item !== 'string' && !isList) {
      throw badRequest(`Invalid type for 'metadata.${key}': expected a string${lists ? ' or a list of strings' : ''}.`, `metadata.${key}`, 'invalid_type');
    }
    if (valueLength(item as string | string[]) > limits.maxValueLength) {
      throw badRequest(`Invalid 'metadata.${key}': string too long. Expected at most ${limits.maxValueLength} characters.`, `metadata.${key}`, 'string_above_max_length');
    }
    metadata[key] = item as string | string[];
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

export async function listBatches(ctx: OpenAIContext, { res, url }: RouteInput): Promise<void> {
  if (ctx.dialect.batchList === 'all') {
    // Groq's list takes no parameters and answers with every batch, without cursors or `has_more`.
    const { data } = await ctx.batches.list(null, Infinity);
    return sendJson(res, 200, { object: 'list', data });
  }
  const limit = parseLimit(url.searchParams.get('limit'), 20, 100);
  sendJson(res, 200, await ctx.batches.list(url.searchParams.get('after'), limit));
}

export async function retrieveBatch(ctx: OpenAIContext, { res, params }: RouteInput): Promise<void> {
  sendJson(res, 200, await ctx.batches.retrieve(params[0]));
}

export async function cancelBatch(ctx: OpenAIContext, { res, params }: RouteInput): Promise<void> {
  const { batch, changed } = await ctx.batches.cancel(params[0]);
  if (changed) ctx.counters.batchCancels++;
  sendJson(res, 200, batch);
}
