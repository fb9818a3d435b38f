/** HTTP handlers of `/v1/files`: upload, list, retrieve, content, delete. */
import { promises as fs } from 'node:fs';
import { streamFile } from '../../kernel/download';
import { badRequest, sendJson } from '../../kernel/http';
import { parseLimit } from '../../kernel/pagination';
import type { RouteInput } from '../../kernel/provider';
import type { OpenAIContext } from './context';
import { toFileJson } from './files';
import { receiveUpload } from './upload';
import { FILE_EXPIRY_SECONDS, UPLOAD_PURPOSES, type FilePurpose } from './wire';

export async function createFile(ctx: OpenAIContext, { req, res }: RouteInput): Promise<void> {
  const upload = await receiveUpload(req, ctx.kernel.tmpDir, ctx.limits.maxBytesPerBatch);
  try {
    const purpose = upload.fields.get('purpose');
    if (!purpose) throw badRequest("Missing required parameter: 'purpose'.", 'purpose', 'missing_required_parameter');
    if (!(UPLOAD_PURPOSES as readonly string[]).includes(purpose)) {
      throw badRequest(`Invalid value for 'purpose': '${purpose}'. Expected one of ${UPLOAD_PURPOSES.join(', ')}.`, 'purpose', 'invalid_value');
    }
    if (!upload.file) throw badRequest("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
    if (purpose === 'batch' && !upload.file.filename.toLowerCase().endsWith('.jsonl')) {
      throw badRequest('Invalid file format for Batch API. Must be .jsonl');
    }
    const stored = await ctx.files.add({
      sourcePath: upload.file.tmpPath,
      bytes: upload.file.bytes,
      filename: upload.file.filename,
      purpose: purpose as FilePurpose,
      expiresAfterSeconds: expiresAfter(upload.fields),
    });
    ctx.counters.filesCreated++;
    sendJson(res, 200, toFileJson(stored));
  } catch (err) {
    if (upload.file) await fs.rm(upload.file.tmpPath, { force: true });
    throw err;
  }
}

/** `expires_after` arrives as bracket fields: `expires_after[anchor]` and `expires_after[seconds]`. */
function expiresAfter(fields: Map<string, string>): number | undefined {
  const anchor = fields.get('expires_after[anchor]');
  const seconds = fields.get('expires_after[seconds]');
  if (anchor === undefined && seconds === undefined) return undefined;
  if (anchor !== 'created_at') {
    throw badRequest("Invalid value for 'expires_after.anchor': expected 'created_at'.", 'expires_after.anchor', 'invalid_value');
  }
  const value = Number(seconds);
  if (seconds === undefined || !Number.isInteger(value) || value < FILE_EXPIRY_SECONDS.min || value > FILE_EXPIRY_SECONDS.max) {
    throw badRequest(
      `Invalid value for 'expires_after.seconds': expected an integer between ${FILE_EXPIRY_SECONDS.min} and ${FILE_EXPIRY_SECONDS.max}.`,
      'expires_after.seconds',
      'invalid_value',
    );
  }
  return value;
}

export async function listFiles(ctx: OpenAIContext, { res, url }: RouteInput): Promise<void> {
  const order = url.searchParams.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw badRequest(`Invalid value for 'order': '${order}'. Expected 'asc' or 'desc'.`, 'order', 'invalid_value');
  const limit = parseLimit(url.searchParams.get('limit'), 10_000, 10_000);
  const page = ctx.files.list(url.searchParams.get('purpose'), { order, after: url.searchParams.get('after'), limit });
  sendJson(res, 200, page);
}

export async function retrieveFile(ctx: OpenAIContext, { res, params }: RouteInput): Promise<void> {
  sendJson(res, 200, toFileJson(ctx.files.require(params[0], 'id')));
}

export async function fileContent(ctx: OpenAIContext, { res, params }: RouteInput): Promise<void> {
  const file = ctx.files.require(params[0], 'id');
  const { counters, faults } = ctx.kernel;
  counters.contentDownloadsInFlight++;
  try {
    await streamFile(res, file, { bytesPerSecond: faults.current.downloadBytesPerSecond, truncate: faults.truncatesDownload() });
  } finally {
    counters.contentDownloadsInFlight--;
  }
}

export async function deleteFile(ctx: OpenAIContext, { res, params }: RouteInput): Promise<void> {
  await ctx.files.delete(params[0]);
  sendJson(res, 200, { id: params[0], object: 'file', deleted: true });
}
