/**
 * The Cloud Storage JSON API v1 subset below `/gcs` (https://cloud.google.com/storage/docs/json_api/v1), the paths
 * Google's libraries build on `STORAGE_EMULATOR_HOST`: buckets (`POST|GET /storage/v1/b`, `GET /storage/v1/b/{b}`),
 * uploads (`POST /upload/storage/v1/b/{b}/o?uploadType=media|multipart|resumable`, then `PUT|DELETE` on a resumable
 * session's URI: `resumable.ts`), objects (`GET /storage/v1/b/{b}/o` to list, `GET|DELETE /storage/v1/b/{b}/o/{o}`,
 * `?alt=media` for the bytes, also at `/download/storage/v1/b/{b}/o/{o}`, a `Range: bytes=` header honoured).
 * Uploads, reads and deletes take the `ifGenerationMatch` family of preconditions (`preconditions.ts`).
 */
import type { ServerResponse } from 'node:http';
import { streamFile } from '../../kernel/download';
import { isPlainObject, sendJson } from '../../kernel/http';
import type { Kernel, Route, RouteInput } from '../../kernel/provider';
import { gcsError, noSuchObject } from './errors';
import { multipartBoundary, readMultipart } from './multipart';
import { checkRead, preconditionsOf } from './preconditions';
import { ResumableUploads } from './resumable';
import type { GcsObject, GcsStore } from './store';
import { bucketJson, objectJson } from './wire';

export interface GcsContext {
  kernel: Kernel;
  store: GcsStore;
}

interface Context extends GcsContext {
  uploads: ResumableUploads;
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

/** A checksum field of upload metadata (`crc32c`, `md5Hash`): a string, or absent. */
function checksumField(metadata: Record<string, unknown>, key: string): string | null {
  const value = metadata[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw gcsError(400, `Invalid value for ${key}: a base64 string is expected.`);
  return value;
}

/** `X-Upload-Content-Length` of a resumable upload's start, or null. */
function announcedSize(input: RouteInput): number | null {
  const value = header(input, 'x-upload-content-length');
  if (value === '') return null;
  if (!/^\d+$/.test(value)) throw gcsError(400, `Invalid X-Upload-Content-Length: '${value}'.`);
  return Number(value);
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

async function upload(ctx: Context, input: RouteInput): Promise<void> {
  const bucket = input.params[0];
  ctx.store.bucket(bucket); // refuse before reading any of the body
  const uploadType = input.url.searchParams.get('uploadType');
  const preconditions = preconditionsOf(input.url);
  const body = input.req as AsyncIterable<Buffer>;
  let stored: GcsObject;
  if (uploadType === 'media') {
    const name = requiredParam(input.url, 'name');
    stored = await ctx.store.write(bucket, name, body, { contentType: header(input, 'content-type') || 'application/octet-stream', preconditions });
  } else if (uploadType === 'resumable') {
    const metadata = await readSmallJson(input);
    if (!isPlainObject(metadata)) throw gcsError(400, 'The metadata of a resumable upload is a JSON object.');
    const name = typeof metadata.name === 'string' && metadata.name !== '' ? metadata.name : requiredParam(input.url, 'name');
    const contentType = header(input, 'x-upload-content-type') || (typeof metadata.contentType === 'string' ? metadata.contentType : 'application/octet-stream');
    return ctx.uploads.start(input, {
      bucket,
      name,
      contentType,
      metadata: customMetadata(metadata.metadata),
      expected: { crc32c: checksumField(metadata, 'crc32c'), md5Hash: checksumField(metadata, 'md5Hash') },
      expectedSize: announcedSize(input),
      preconditions,
    });
  } else if (uploadType === 'multipart') {
    const boundary = multipartBoundary(header(input, 'content-type'));
    if (boundary === null) throw gcsError(400, 'A multipart upload needs Content-Type: multipart/related with a boundary.');
    const { metadata, mediaType, media } = await readMultipart(body, boundary);
    const name = typeof metadata.name === 'string' && metadata.name !== '' ? metadata.name : requiredParam(input.url, 'name');
    const contentType = typeof metadata.contentType === 'string' ? metadata.contentType : mediaType ?? 'application/octet-stream';
    const expected = { crc32c: checksumField(metadata, 'crc32c'), md5Hash: checksumField(metadata, 'md5Hash') };
    stored = await ctx.store.write(bucket, name, media, { contentType, metadata: customMetadata(metadata.metadata), expected, preconditions });
  } else {
    throw gcsError(400, `Invalid upload type: ${String(uploadType)} (the sandbox serves uploadType=media, multipart and resumable).`);
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

/**
 * The bytes a `Range` header asks for (`bytes=first-last`, `bytes=first-`, `bytes=-suffix`), as inclusive offsets;
 * null for the whole object (no header, or one that is not a single byte range, which HTTP says to ignore).
 * A range starting past the end is a 416, as is any range of an empty object.
 */
function byteRange(value: string, size: number): { start: number; end: number } | null {
  const match = /^bytes=(\d*)-(\d*)$/i.exec(value.replace(/\s+/g, ''));
  if (!match || (match[1] === '' && match[2] === '')) return null;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw rangeNotSatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < start) return null;
    if (start >= size) throw rangeNotSatisfiable(size);
  }
  return { start, end };
}

function rangeNotSatisfiable(size: number) {
  const err = gcsError(416, 'The requested range cannot be satisfied.', 'requestedRangeNotSatisfiable');
  err.headers['content-range'] = `bytes */${size}`;
  return err;
}

async function sendMedia(ctx: GcsContext, input: RouteInput, object: GcsObject): Promise<void> {
  const { res } = input;
  const { faults, counters } = ctx.kernel;
  const range = byteRange(header(input, 'range'), object.size);
  // The stored object's checksums, also on a range (the client checks them only against a whole object).
  res.setHeader('x-goog-hash', `crc32c=${object.crc32c},md5=${object.md5Hash}`);
  res.setHeader('x-goog-generation', object.generation);
  res.setHeader('x-goog-metageneration', '1');
  res.setHeader('x-goog-stored-content-length', String(object.size));
  res.setHeader('x-goog-stored-content-encoding', 'identity');
  counters.contentDownloadsInFlight++;
  try {
    await streamFile(
      res,
      { id: `${object.bucket}/${object.name}`, path: object.path, bytes: object.size, ...(range ? { range } : {}) },
      { bytesPerSecond: faults.current.downloadBytesPerSecond, truncate: faults.truncatesDownload() },
      object.contentType,
    );
  } finally {
    counters.contentDownloadsInFlight--;
  }
}

/** The object a read names, or null when a NotMatch precondition answered it already (304 sent). */
function readableObject(ctx: GcsContext, input: RouteInput): GcsObject | null {
  const object = requestedObject(ctx, input);
  if (checkRead(object, preconditionsOf(input.url)) === 'not-modified') {
    input.res.writeHead(304, { etag: Buffer.from(`${object.generation}/1`).toString('base64') });
    input.res.end();
    return null;
  }
  return object;
}

async function getObject(ctx: GcsContext, input: RouteInput): Promise<void> {
  const object = readableObject(ctx, input);
  if (object === null) return;
  if (input.url.searchParams.get('alt') === 'media') return sendMedia(ctx, input, object);
  sendJson(input.res, 200, objectJson(object, input.base));
}

async function download(ctx: GcsContext, input: RouteInput): Promise<void> {
  const object = readableObject(ctx, input);
  if (object !== null) await sendMedia(ctx, input, object);
}

async function deleteObject(ctx: GcsContext, input: RouteInput): Promise<void> {
  await ctx.store.remove(input.params[0], input.params[1], preconditionsOf(input.url));
  input.res.writeHead(204);
  input.res.end();
}

const BUCKET = '([^/]+)';
/** An object name arrives %-encoded as one segment; taken whole, so an unencoded `/` works too. */
const OBJECT = '(.+)';

export function gcsRoutes(context: GcsContext): Route[] {
  const ctx: Context = { ...context, uploads: new ResumableUploads(context.store) };
  const bind = (handler: (ctx: Context, input: RouteInput) => Promise<void>) => (input: RouteInput) => handler(ctx, input);
  return [
    { method: 'POST', pattern: /^\/storage\/v1\/b$/, handler: bind(insertBucket) },
    { method: 'GET', pattern: /^\/storage\/v1\/b$/, handler: bind(listBuckets) },
    { method: 'GET', pattern: new RegExp(`^/storage/v1/b/${BUCKET}$`), handler: bind(getBucket) },
    { method: 'GET', pattern: new RegExp(`^/storage/v1/b/${BUCKET}/o$`), handler: bind(listObjects) },
    { method: 'POST', pattern: new RegExp(`^/upload/storage/v1/b/${BUCKET}/o$`), handler: bind(upload) },
    { method: 'PUT', pattern: new RegExp(`^/upload/storage/v1/b/${BUCKET}/o$`), handler: bind((c, input) => c.uploads.put(input)) },
    { method: 'DELETE', pattern: new RegExp(`^/upload/storage/v1/b/${BUCKET}/o$`), handler: bind((c, input) => c.uploads.cancel(input)) },
    { method: 'GET', pattern: new RegExp(`^/storage/v1/b/${BUCKET}/o/${OBJECT}$`), handler: bind(getObject) },
    { method: 'GET', pattern: new RegExp(`^/download/storage/v1/b/${BUCKET}/o/${OBJECT}$`), handler: bind(download) },
    { method: 'DELETE', pattern: new RegExp(`^/storage/v1/b/${BUCKET}/o/${OBJECT}$`), handler: bind(deleteObject) },
  ];
}
