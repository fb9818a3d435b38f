/**
 * The Gemini route table, below the `/gemini` prefix, in both `v1beta` and `v1`: batches
 * (`models/{m}:batchGenerateContent`, get, list, `:cancel`, delete), the Files API (the resumable upload
 * protocol the SDK speaks, get, list, delete, `:download?alt=media`, also under `/download/...`).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { streamFile } from '../../kernel/download';
import { isPlainObject, sendJson } from '../../kernel/http';
import { readInputLines } from '../../kernel/jsonl';
import type { Kernel, Route, RouteInput } from '../../kernel/provider';
import { geminiError } from './errors';
import type { GeminiStore, StoredFile } from './store';

const V = '(v1beta|v1)';
const ID = '([^/:]+)';

export interface GeminiContext {
  kernel: Kernel;
  store: GeminiStore;
  /** Most bytes of an inline create body. */
  maxInlineBytes: number;
  /** Most bytes of an input file. */
  maxFileBytes: number;
}

async function readBody(input: RouteInput, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw geminiError(400, `Request payload size exceeds the limit: ${max} bytes.`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw geminiError(400, 'Invalid JSON payload received.');
  }
}

function pageOf<T extends { createdMs: number }>(entries: Array<{ key: { createdMs: number; seq: number }; value: T }>, url: URL, idOf: (v: T) => string): { items: T[]; next: string | null } {
  const rawSize = url.searchParams.get('pageSize');
  const size = rawSize === null ? 50 : Number(rawSize);
  if (!Number.isInteger(size) || size < 1) throw geminiError(400, `Invalid pageSize: ${rawSize}`);
  const pageSize = Math.min(size, 1000);
  const sorted = entries.sort((a, b) => b.key.createdMs - a.key.createdMs || b.key.seq - a.key.seq);
  const token = url.searchParams.get('pageToken');
  let start = 0;
  if (token) {
    const at = sorted.findIndex((e) => idOf(e.value) === token);
    if (at < 0) throw geminiError(400, `Invalid pageToken: ${token}`);
    start = at + 1;
  }
  const items = sorted.slice(start, start + pageSize).map((e) => e.value);
  const next = start + pageSize < sorted.length && items.length > 0 ? idOf(items[items.length - 1]) : null;
  return { items, next };
}

// ---- batches ----

async function createBatch(ctx: GeminiContext, input: RouteInput): Promise<void> {
  const model = input.params[1];
  const allowed = ctx.kernel.faults.current.models;
  const modelId = model.replace(/^models\//, '');
  if (allowed && !allowed.includes(modelId)) {
    throw geminiError(404, `models/${modelId} is not found for API version ${input.params[0]}, or is not supported for batchGenerateContent. Call ListModels to see the list of available models and their supported methods.`);
  }
  const body = await readBody(input, ctx.maxInlineBytes + 1024 * 1024);
  const batch = isPlainObject(body) && isPlainObject(body.batch) ? body.batch : null;
  if (!batch) throw geminiError(400, '* BatchGenerateContentRequest.batch: batch is required');
  const config = isPlainObject(batch.inputConfig) ? batch.inputConfig : null;
  if (!config) throw geminiError(400, '* GenerateContentBatch.input_config: input_config is required');
  const displayName = typeof batch.displayName === 'string' ? batch.displayName : null;
  const requestsPath = ctx.store.requestsPathFor();
  const out = createWriteStream(requestsPath);
  out.on('error', () => undefined);
  const metadata: unknown[] = [];
  let total = 0;
  let mode: 'inline' | 'file';
  let inputFile: string | null = null;
  const write = async (line: unknown): Promise<void> => {
    total++;
    if (total > ctx.store.maxRequests) throw geminiError(400, `A batch holds at most ${ctx.store.maxRequests} requests.`);
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  };
  try {
    if (typeof config.fileName === 'string') {
      mode = 'file';
      inputFile = config.fileName;
      const id = /^files\/([a-z0-9]+)$/.exec(config.fileName)?.[1];
      if (!id) throw geminiError(400, `* GenerateContentBatch.input_config.file_name: invalid file name ${config.fileName}`);
      const file = ctx.store.file(id);
      if (file.sizeBytes > ctx.maxFileBytes) throw geminiError(400, `The input file is ${file.sizeBytes} bytes, more than ${ctx.maxFileBytes}.`);
      for await (const { line, text } of readInputLines(file.path)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw geminiError(400, `Invalid JSON on line ${line} of ${config.fileName}.`);
        }
        if (!isPlainObject(parsed) || typeof parsed.key !== 'string' || !isPlainObject(parsed.request)) {
          throw geminiError(400, `Line ${line} of ${config.fileName} is not a {"key", "request"} object.`);
        }
        await write({ key: parsed.key, request: parsed.request });
      }
    } else {
      mode = 'inline';
      const wrapper = isPlainObject(config.requests) ? config.requests : null;
      const requests = wrapper && Array.isArray(wrapper.requests) ? wrapper.requests : null;
      if (!requests) throw geminiError(400, '* GenerateContentBatch.input_config: requests or file_name is required');
      for (const [i, item] of requests.entries()) {
        if (!isPlainObject(item) || !isPlainObject(item.request)) throw geminiError(400, `* requests[${i}].request: request is required`);
        const md = isPlainObject(item.metadata) ? item.metadata : undefined;
        metadata.push(md);
        const key = md && typeof md.key === 'string' ? md.key : String(i);
        await write({ key, request: item.request });
      }
    }
    if (total === 0) throw geminiError(400, '* GenerateContentBatch.input_config: the batch holds no requests');
  } finally {
    out.end();
    await finished(out).catch(() => undefined);
  }
  const record = ctx.store.addBatch(
    { model: `models/${modelId}`, displayName, mode, inputFile, requestsPath, metadata, total, failAll: ctx.kernel.faults.current.failValidation === true },
    ctx.kernel.faults.current.expireAfterSeconds,
  );
  const delay = ctx.kernel.faults.current.createResponseDelayMs;
  if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
  if (ctx.kernel.faults.losesCreateResponse(input.res)) return;
  sendJson(input.res, 200, await ctx.store.operation(record));
}

async function getBatch(ctx: GeminiContext, input: RouteInput): Promise<void> {
  sendJson(input.res, 200, await ctx.store.operation(ctx.store.batch(input.params[1])));
}

async function listBatches(ctx: GeminiContext, input: RouteInput): Promise<void> {
  const { items, next } = pageOf(ctx.store.batches.entries(), input.url, (r) => r.id);
  const operations = await Promise.all(items.map((r) => ctx.store.operation(r)));
  sendJson(input.res, 200, { operations, ...(next ? { nextPageToken: next } : {}) });
}

async function cancelBatch(ctx: GeminiContext, input: RouteInput): Promise<void> {
  await ctx.store.cancel(input.params[1]);
  sendJson(input.res, 200, {});
}

async function deleteBatch(ctx: GeminiContext, input: RouteInput): Promise<void> {
  await ctx.store.deleteBatch(input.params[1]);
  sendJson(input.res, 200, {});
}

// ---- files ----

function header(input: RouteInput, name: string): string {
  const value = input.req.headers[name];
  return (Array.isArray(value) ? value[0] ?? '' : value ?? '').trim();
}

async function upload(ctx: GeminiContext, input: RouteInput): Promise<void> {
  const uploadId = input.url.searchParams.get('upload_id');
  const command = header(input, 'x-goog-upload-command').toLowerCase();
  if (uploadId === null) {
    if (header(input, 'x-goog-upload-protocol').toLowerCase() !== 'resumable' || command !== 'start') {
      throw geminiError(400, 'Only the resumable upload protocol is supported (X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start).');
    }
    const body = await readBody(input, 1024 * 1024);
    const file = isPlainObject(body) && isPlainObject(body.file) ? body.file : {};
    const declared = Number(header(input, 'x-goog-upload-header-content-length') || NaN);
    if (Number.isFinite(declared) && declared > ctx.maxFileBytes) throw geminiError(400, `The file is ${declared} bytes, more than ${ctx.maxFileBytes}.`);
    const id = ctx.store.startUpload({
      displayName: typeof file.displayName === 'string' ? file.displayName : null,
      mimeType: (typeof file.mimeType === 'string' && file.mimeType) || header(input, 'x-goog-upload-header-content-type') || 'application/octet-stream',
      declaredBytes: Number.isFinite(declared) ? declared : null,
    });
    const url = `${input.base}/upload/${input.params[0]}/files?upload_id=${id}&upload_protocol=resumable`;
    input.res.writeHead(200, { 'x-goog-upload-url': url, 'x-goog-upload-status': 'active', 'x-goog-upload-chunk-granularity': '8388608', 'content-length': '0' });
    input.res.end();
    return;
  }
  const commands = command.split(',').map((c) => c.trim());
  if (!commands.includes('upload')) throw geminiError(400, `Unsupported X-Goog-Upload-Command: ${command}`);
  const offset = Number(header(input, 'x-goog-upload-offset') || '0');
  const file = await ctx.store.uploadChunk(uploadId, offset, input.req as AsyncIterable<Buffer>, commands.includes('finalize'));
  if (!file) {
    input.res.writeHead(200, { 'x-goog-upload-status': 'active', 'content-length': '0' });
    input.res.end();
    return;
  }
  sendJson(input.res, 200, { file: ctx.store.fileJson(file, input.base) }, { 'x-goog-upload-status': 'final' });
}

async function getFile(ctx: GeminiContext, input: RouteInput): Promise<void> {
  sendJson(input.res, 200, ctx.store.fileJson(ctx.store.file(input.params[1]), input.base));
}

async function listFiles(ctx: GeminiContext, input: RouteInput): Promise<void> {
  const { items, next } = pageOf(ctx.store.files.entries(), input.url, (f: StoredFile) => f.id);
  sendJson(input.res, 200, { files: items.map((f) => ctx.store.fileJson(f, input.base)), ...(next ? { nextPageToken: next } : {}) });
}

async function deleteFile(ctx: GeminiContext, input: RouteInput): Promise<void> {
  await ctx.store.deleteFile(input.params[1]);
  sendJson(input.res, 200, {});
}

async function download(ctx: GeminiContext, input: RouteInput): Promise<void> {
  if (input.url.searchParams.get('alt') !== 'media') throw geminiError(400, 'Downloads need alt=media.');
  const file = ctx.store.file(input.params[1]);
  const { faults, counters } = ctx.kernel;
  counters.contentDownloadsInFlight++;
  try {
    await streamFile(
      input.res,
      { id: file.id, path: file.path, bytes: file.sizeBytes },
      { bytesPerSecond: faults.current.downloadBytesPerSecond, truncate: faults.truncatesDownload() },
      file.mimeType,
    );
  } finally {
    counters.contentDownloadsInFlight--;
  }
}

export function geminiRoutes(ctx: GeminiContext): Route[] {
  const bind = (handler: (ctx: GeminiContext, input: RouteInput) => Promise<void>) => (input: RouteInput) => handler(ctx, input);
  return [
    { method: 'POST', pattern: new RegExp(`^/${V}/models/${ID}:batchGenerateContent$`), handler: bind(createBatch) },
    { method: 'GET', pattern: new RegExp(`^/${V}/batches$`), handler: bind(listBatches) },
    { method: 'GET', pattern: new RegExp(`^/${V}/batches/${ID}$`), handler: bind(getBatch) },
    { method: 'POST', pattern: new RegExp(`^/${V}/batches/${ID}:cancel$`), handler: bind(cancelBatch) },
    { method: 'DELETE', pattern: new RegExp(`^/${V}/batches/${ID}$`), handler: bind(deleteBatch) },
    { method: 'POST', pattern: new RegExp(`^/upload/${V}/files$`), handler: bind(upload) },
    { method: 'GET', pattern: new RegExp(`^/${V}/files$`), handler: bind(listFiles) },
    { method: 'GET', pattern: new RegExp(`^/${V}/files/${ID}:download$`), handler: bind(download) },
    { method: 'GET', pattern: new RegExp(`^/download/${V}/files/${ID}:download$`), handler: bind(download) },
    { method: 'GET', pattern: new RegExp(`^/${V}/files/${ID}$`), handler: bind(getFile) },
    { method: 'DELETE', pattern: new RegExp(`^/${V}/files/${ID}$`), handler: bind(deleteFile) },
  ];
}
