/**
 * xAI's REST batch API below `/xai` (docs/provider-apis-2.md section 8): `POST /v1/files`, `POST|GET /v1/batches`,
 * `GET /v1/batches/{id}`, `POST /v1/batches/{id}:cancel`, `GET /v1/batches/{id}/results`.
 */
import { promises as fs } from 'node:fs';
import { isPlainObject, readJsonBody, sendJson } from '../../kernel/http';
import type { Kernel, Route, RouteInput } from '../../kernel/provider';
import { toFileJson, type FileStore } from '../openai/files';
import { receiveUpload } from '../openai/upload';
import { xaiError } from './errors';
import type { XaiBatchRecord, XaiBatchStore } from './store';

export interface XaiContext {
  kernel: Kernel;
  files: FileStore;
  batches: XaiBatchStore;
  limits: { maxRequestsPerBatch: number; maxBytesPerBatch: number };
  counters: { filesCreated: number; batchesCreated: number; batchCancels: number };
  /** When the last batch was created (ms), for xAI's one create per second. */
  lastCreateMs: number | null;
}

/** xAI allows one batch created per second per team. */
export const CREATE_INTERVAL_MS = 1000;
const MAX_LIST = 1000;
const MAX_RESULTS = 1000;

const token = (value: string): string => Buffer.from(value, 'utf8').toString('base64url');
const untoken = (value: string): string => Buffer.from(value, 'base64url').toString('utf8');

function parseLimit(raw: string | null, fallback: number, max: number): number {
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > max) throw xaiError(400, `Invalid limit '${raw}': expected an integer between 1 and ${max}.`);
  return n;
}

function requireBatch(ctx: XaiContext, id: string): XaiBatchRecord {
  const batch = ctx.batches.book.get(id);
  if (!batch) throw xaiError(404, `Batch ${id} not found.`);
  return batch;
}

async function uploadFile(ctx: XaiContext, { req, res }: RouteInput): Promise<void> {
  const upload = await receiveUpload(req, ctx.kernel.tmpDir, ctx.limits.maxBytesPerBatch);
  try {
    if (!upload.file) throw xaiError(400, 'Missing required field: file.');
    // `purpose` is optional at xAI (section 8 leaves it open): taken when given, `batch` otherwise.
    const stored = await ctx.files.add({ sourcePath: upload.file.tmpPath, bytes: upload.file.bytes, filename: upload.file.filename || 'upload.jsonl', purpose: 'batch' });
    ctx.counters.filesCreated++;
    sendJson(res, 200, toFileJson(stored));
  } catch (err) {
    if (upload.file) await fs.rm(upload.file.tmpPath, { force: true });
    throw err;
  }
}

async function createBatch(ctx: XaiContext, { req, res }: RouteInput): Promise<void> {
  const body = await readJsonBody(req);
  if (!isPlainObject(body)) throw xaiError(400, 'The request body must be a JSON object.');
  const name = body.name;
  if (typeof name !== 'string' || name === '') throw xaiError(400, 'Missing required field: name.');
  const inputFileId = body.input_file_id;
  if (typeof inputFileId !== 'string' || inputFileId === '') throw xaiError(400, 'Missing required field: input_file_id (this sandbox creates batches from an uploaded file only).');
  let file;
  try {
    file = ctx.files.require(inputFileId);
  } catch {
    throw xaiError(404, `File ${inputFileId} not found.`);
  }
  const now = ctx.batches.now();
  if (ctx.lastCreateMs !== null && now - ctx.lastCreateMs < CREATE_INTERVAL_MS) {
    const wait = Math.max(1, Math.ceil((ctx.lastCreateMs + CREATE_INTERVAL_MS - now) / 1000));
    throw xaiError(429, 'Too many batches created: at most one batch may be created per second per team.', { 'retry-after': String(wait) });
  }
  ctx.lastCreateMs = now;
  const faults = ctx.kernel.faults.current;
  const requests = await ctx.batches.readRequests(file.path, faults);
  if (requests.length > ctx.limits.maxRequestsPerBatch) {
    ctx.lastCreateMs = null;
    throw xaiError(400, `The input file holds more than ${ctx.limits.maxRequestsPerBatch} requests.`);
  }
  const batch = ctx.batches.create({ name, inputFileId, requests }, { ...faults, requestFault: ctx.kernel.faults.requestFault() });
  ctx.counters.batchesCreated++;
  if (faults.createResponseDelayMs) await new Promise((resolve) => setTimeout(resolve, faults.createResponseDelayMs));
  if (ctx.kernel.faults.losesCreateResponse(res)) return;
  sendJson(res, 200, ctx.batches.toJson(batch));
}

async function listBatches(ctx: XaiContext, { res, url }: RouteInput): Promise<void> {
  const limit = parseLimit(url.searchParams.get('limit'), 100, MAX_LIST);
  const raw = url.searchParams.get('pagination_token');
  // Newest first; the token names the last batch of the previous page.
  const all = ctx.batches.book.entries().sort((a, b) => b.key.createdMs - a.key.createdMs || b.key.seq - a.key.seq);
  let start = 0;
  if (raw) {
    const key = ctx.batches.book.keyOf(untoken(raw));
    if (!key) throw xaiError(400, `Invalid pagination_token '${raw}'.`);
    start = all.findIndex((e) => e.key.createdMs < key.createdMs || (e.key.createdMs === key.createdMs && e.key.seq < key.seq));
    if (start < 0) start = all.length;
  }
  const page = all.slice(start, start + limit).map((e) => e.value);
  const more = start + limit < all.length;
  sendJson(res, 200, { batches: page.map((b) => ctx.batches.toJson(b)), pagination_token: more && page.length > 0 ? token(page[page.length - 1].id) : null });
}

async function retrieveBatch(ctx: XaiContext, { res, params }: RouteInput): Promise<void> {
  sendJson(res, 200, ctx.batches.toJson(requireBatch(ctx, params[0])));
}

async function cancelBatch(ctx: XaiContext, { req, res, params }: RouteInput): Promise<void> {
  await readJsonBody(req);
  const batch = requireBatch(ctx, params[0]);
  if (batch.cancelMs === null) {
    if (!ctx.batches.cancellable(batch)) throw xaiError(400, `Batch ${batch.id} has finished and cannot be cancelled.`);
    ctx.batches.cancel(batch);
    ctx.counters.batchCancels++;
  }
  sendJson(res, 200, ctx.batches.toJson(batch));
}

async function batchResults(ctx: XaiContext, { res, url, params }: RouteInput): Promise<void> {
  const batch = requireBatch(ctx, params[0]);
  const limit = parseLimit(url.searchParams.get('limit'), 100, MAX_RESULTS);
  const raw = url.searchParams.get('pagination_token');
  let offset = 0;
  if (raw) {
    const match = /^([^:]+):(\d+)$/.exec(untoken(raw));
    if (!match || match[1] !== batch.id) throw xaiError(400, `Invalid pagination_token '${raw}'.`);
    offset = Number(match[2]);
  }
  const page = ctx.batches.results(batch, offset, limit);
  sendJson(res, 200, { results: page.results, pagination_token: page.next === null ? null : token(`${batch.id}:${page.next}`) });
}

const ID = '([^/:]+)';

export function xaiRoutes(ctx: XaiContext): Route[] {
  const bind = (handler: (ctx: XaiContext, input: RouteInput) => Promise<void>) => (input: RouteInput) => handler(ctx, input);
  return [
    { method: 'POST', pattern: /^\/v1\/files$/, handler: bind(uploadFile) },
    { method: 'POST', pattern: /^\/v1\/batches$/, handler: bind(createBatch) },
    { method: 'GET', pattern: /^\/v1\/batches$/, handler: bind(listBatches) },
    { method: 'POST', pattern: new RegExp(`^/v1/batches/${ID}:cancel$`), handler: bind(cancelBatch) },
    { method: 'GET', pattern: new RegExp(`^/v1/batches/${ID}/results$`), handler: bind(batchResults) },
    { method: 'GET', pattern: new RegExp(`^/v1/batches/${ID}$`), handler: bind(retrieveBatch) },
  ];
}
