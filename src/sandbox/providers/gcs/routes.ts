/**
 * The Cloud Storage JSON API v1 subset below `/gcs` (https://cloud.google.com/storage/docs/json_api/v1), the paths
 * Google's libraries build on `STORAGE_EMULATOR_HOST`: buckets (`POST|GET /storage/v1/b`, `GET /storage/v1/b/{b}`),
 * uploads (`POST /upload/storage/v1/b/{b}/o?uploadType=media|multipart`), objects (`GET /storage/v1/b/{b}/o` to list,
 * `GET|DELETE /storage/v1/b/{b}/o/{o}`, `?alt=media` for the bytes, also at `/download/storage/v1/b/{b}/o/{o}`).
 */
import type { ServerResponse } from 'node:http';
import { streamFile } from '../../kernel/download';
import { isPlainObject, sendJson } from '../../kernel/http';
import type { Kernel, Route, RouteInput } from '../../kernel/provider';
import { gcsError, noSuchObject } from './errors';
import { multipartBoundary, readMultipart } from './multipart';
import type { GcsObject, GcsStore } from './store';
import { bucketJson, objectJson } from './wire';

export interface GcsContext {
  kernel: Kernel;
  store: GcsStore;
}

const MAX_LIST = 1000;
const MAX_METADATA_BYTES = 1024 * 1024;

function header(input: RouteInput, name: string): string {
  const value = input.req.headers[name];
  return (Array.isArray(value) ? value[0] ?? '' : value ?? '').trim();
}

async function readSmallJson(input: RouteInput): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_METADATA_BYTES) throw gcsError(400, 'The request body is too large.');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw gcsError(400, 'Parse Error: the request body is not valid JSON.', 'parseError');
  }
}

/** Custom metadata must map strings to strings. */
function customMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) throw gcsError(400, 'Invalid value for metadata: a map of strings is expected.');
  return value as Record<string, string>;
}

function requiredParam(url: URL, name: string): string {
  const value = url.searchParams.get(name);
  if (value === null || value === '') throw gcsError(400, `Required parameter: ${name}`, 'required');
  return value;
}

// ---- buckets ----

async function insertBucket(ctx: GcsContext, input: RouteInput): Promise<void> {
  const project = requiredParam(input.url, 'project');
  const body = await readSmallJson(input);
  const name = isPlainObject(body) ? body.name : undefined;
  if (typeof name !== 'string' || name === '') throw gcsError(400, 'Required field: name', 'required');
  sendJson(input.res, 200, bucketJson(ctx.store.createBucket(name, project), input.base));
}

async function listBuckets(ctx: GcsContext, input: RouteInput): Promise<void> {
  requiredParam(input.url, 'project');
  const items = ctx.store.bucketList().map((b) => bucketJson(b, input.base));
  sendJson(input.res, 200, { kind: 'storage#buckets', ...(items.length > 0 ? { items } : {}) });
}

async function getBucket(ctx: GcsContext, input: RouteInput): Promise<void> {
  sendJson(input.res, 200, bucketJson(ctx.store.bucket(input.params[0]), input.base));
}

// ---- objects ----

async function upload(ctx: GcsContext, input: RouteInput): Promise<void> {
  const bucket = input.params[0];
  ctx.store.bucket(bucket); // refuse before reading any of the body
  const uploadType = input.url.searchParams.get('uploadType');
  const body = input.req as AsyncIterable<Buffer>;
  let stored: GcsObject;
  if (uploadType === 'media') {
    const name = requiredParam(input.url, 'name');
    stored = await ctx.store.write(bucket, name, body, { contentType: header(input, 'content-type') || 'application/octet-stream' });
  } else if (uploadType === 'multipart') {
    const boundary = multipartBoundary(header(input, 'content-type'));
    if (boundary === null) throw gcsError(400, 'A multipart upload needs Content-Type: multipart/related with a boundary.');
    const { metadata, mediaType, media } = await readMultipart(body, boundary);
    const name = typeof metadata.name === 'string' && metadata.name !== '' ? metadata.name : requiredParam(input.url, 'name');
    const contentType = typeof metadata.contentType === 'string' ? metadata.contentType : mediaType ?? 'application/octet-stream';
    stored = await ctx.store.write(bucket, name, media, { contentType, metadata: customMetadata(metadata.metadata) });
  } else {
    throw gcsError(400, `Invalid upload type: ${String(uploadType)} (the sandbox serves uploadType=media and uploadType=multipart).`);
  }
  sendJson(input.res, 200, objectJson(stored, input.base));
}

async function listObjects(ctx: GcsContext, input: RouteInput): Promise<void> {
  const { searchParams } = input.url;
  const rawMax = searchParams.get('maxResults');
  const maxResults = rawMax === null ? MAX_LIST : Number(rawMax);
  if (!/^\d+$/.test(rawMax ?? '1') || maxResults < 1) throw gcsError(400, `Invalid value for maxResults: ${String(rawMax)}`);
  const page = ctx.store.list(input.params[0], {
    prefix: searchParams.get('prefix') ?? '',
    delimiter: searchParams.get('delimiter'),
    pageToken: searchParams.get('pageToken') || null,
    maxResults: Math.min(maxResults, MAX_LIST),
  });
  sendJson(input.res, 200, {
    kind: 'storage#objects',
    ...(page.nextPageToken !== null ? { nextPageToken: page.nextPageToken } : {}),
    ...(page.prefixes.length > 0 ? { prefixes: page.prefixes } : {}),
    ...(page.items.length > 0 ? { items: page.items.map((o) => objectJson(o, input.base)) } : {}),
  });
}

/** The object a read names, honouring `?generation=` (the mediaLink carries it): another generation is gone. */
function requestedObject(ctx: GcsContext, input: RouteInput): GcsObject {
  const [bucket, name] = input.params;
  const object = ctx.store.object(bucket, name);
  const generation = input.url.searchParams.get('generation');
  if (generation !== null && generation !== object.generation) throw noSuchObject(bucket, name);
  return object;
}

async function sendMedia(ctx: GcsContext, res: ServerResponse, object: GcsObject): Promise<void> {
  const { faults, counters } = ctx.kernel;
  res.setHeader('x-goog-hash', `md5=${object.md5Hash}`);
  res.setHeader('x-goog-generation', object.generation);
  res.setHeader('x-goog-metageneration', '1');
  res.setHeader('x-goog-stored-content-length', String(object.size));
  res.setHeader('x-goog-stored-content-encoding', 'identity');
  counters.contentDownloadsInFlight++;
  try {
    await streamFile(
      res,
      { id: `${object.bucket}/${object.name}`, path: object.path, bytes: object.size },
      { bytesPerSecond: faults.current.downloadBytesPerSecond, truncate: faults.truncatesDownload() },
      object.contentType,
    );
  } finally {
    counters.contentDownloadsInFlight--;
  }
}

async function getObject(ctx: GcsContext, input: RouteInput): Promise<void> {
  const object = requestedObject(ctx, input);
  if (input.url.searchParams.get('alt') === 'media') return sendMedia(ctx, input.res, object);
  sendJson(input.res, 200, objectJson(object, input.base));
}

async function download(ctx: GcsContext, input: RouteInput): Promise<void> {
  return sendMedia(ctx, input.res, requestedObject(ctx, input));
}

async function deleteObject(ctx: GcsContext, input: RouteInput): Promise<void> {
  await ctx.store.remove(input.params[0], input.params[1]);
  input.res.writeHead(204);
  input.res.end();
}

const BUCKET = '([^/]+)';
/** An object name arrives %-encoded as one segment; taken whole, so an unencoded `/` works too. */
const OBJECT = '(.+)';

export function gcsRoutes(ctx: GcsContext): Route[] {
  const bind = (handler: (ctx: GcsContext, input: RouteInput) => Promise<void>) => (input: RouteInput) => handler(ctx, input);
  return [
    { method: 'POST', pattern: /^\/storage\/v1\/b$/, handler: bind(insertBucket) },
    { method: 'GET', pattern: /^\/storage\/v1\/b$/, handler: bind(listBuckets) },
    { method: 'GET', pattern: new RegExp(`^/storage/v1/b/${BUCKET}$`), handler: bind(getBucket) },
    { method: 'GET', pattern: new RegExp(`^/storage/v1/b/${BUCKET}/o$`), handler: bind(listObjects) },
    { method: 'POST', pattern: new RegExp(`^/upload/storage/v1/b/${BUCKET}/o$`), handler: bind(upload) },
    { method: 'GET', pattern: new RegExp(`^/storage/v1/b/${BUCKET}/o/${OBJECT}$`), handler: bind(getObject) },
    { method: 'GET', pattern: new RegExp(`^/download/storage/v1/b/${BUCKET}/o/${OBJECT}$`), handler: bind(download) },
    { method: 'DELETE', pattern: new RegExp(`^/storage/v1/b/${BUCKET}/o/${OBJECT}$`), handler: bind(deleteObject) },
  ];
}
