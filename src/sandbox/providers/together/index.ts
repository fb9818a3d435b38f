/**
 * The `together` module: Together's Files and Batches APIs at `/together/v1` (docs/provider-apis-2.md section 6),
 * as `together-ai` calls them with `baseURL: <sandbox>/together/v1`, its `files.upload` helper included (with
 * TOGETHER_API_BASE_URL set to the same URL):
 *
 * - `POST /v1/files` with the upload's fields (`file_name`, `file_type`, `purpose`) and no file answers 302 with
 *   `Location`, a presigned upload URL below the same prefix (`/v1/_uploads/<file id>?signature=...`), and
 *   `x-together-file-id`; the `PUT` to that URL (no Bearer key: the signature admits it) streams the file to the
 *   store and answers 200. The fields come as the Node SDK sends them (query string and a form-urlencoded body) or
 *   as the Python SDK does (a multipart body of fields only, `checksum` among them: together 3.1.1
 *   `lib/resources/files.py` `UploadManager.get_upload_url`), which then calls `POST /v1/files/{id}/preprocess`
 *   (answered with the file). A multipart `POST /v1/files` WITH a `file` part is stored at once. A `file_name`
 *   that is a path is stored by its basename.
 * - `GET /v1/files`, `GET|DELETE /v1/files/{id}`, `GET /v1/files/{id}/content`.
 * - `POST /v1/batches` answers `{job, warning?}` (201); `GET /v1/batches` a plain array; `GET /v1/batches/{id}`;
 *   `POST /v1/batches/{id}/cancel`. Uppercase statuses, `progress` 0-100, no request counts, ISO times.
 *
 * Jobs run on the OpenAI emulation's batch store (./store.ts): the kernel's faults (rate500, rate429 with
 * retry-after, drops, expireAfterSeconds, failValidation, models) and per-request `sandbox_error` apply as for
 * every module. Bearer auth and errors in OpenAI's shape (./errors.ts).
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamFile } from '../../kernel/download';
import { isPlainObject, readJsonBody, sendJson } from '../../kernel/http';
import { limitsOf } from '../../kernel/limits';
import type { Kernel, ProviderModule, Route, RouteInput, SandboxProvider } from '../../kernel/provider';
import { BatchStore } from '../openai/batches';
import { FileStore } from '../openai/files';
import { receiveUpload, type ReceivedUpload } from '../openai/upload';
import { authenticateTogether, sendTogetherError, sendUploadError, TOGETHER_REQUEST_IDS, togetherError, UPLOAD_PATH } from './errors';
import { TogetherStore } from './store';
import { receiveBody } from './upload';
import { ANSWERED_ENDPOINTS, DISCOUNTED_MODELS, FILE_PURPOSES, FILE_TYPES, TOGETHER_BATCH_ENDPOINTS } from './wire';

const MB = 1024 * 1024;
const DEFAULTS = { maxRequestsPerBatch: 50_000, maxBytesPerBatch: 100 * MB, requiresSingleModel: true, metadata: null };
const ID = '([^/]+)';
const MAX_FORM_BYTES = 64 * 1024;

/** The name Together shows for an upload: the last part of `file_name`, which the SDK sends as the local path. */
function baseName(fileName: string): string {
  return path.posix.basename(fileName.replace(/\\/g, '/'));
}

/** The upload's fields: the query string, else the form-urlencoded body (the SDK sends both). */
async function uploadParams(input: RouteInput): Promise<URLSearchParams> {
  const params = new URLSearchParams(input.url.searchParams);
  const type = input.req.headers['content-type'] ?? '';
  if (/application\/x-www-form-urlencoded/i.test(type)) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of input.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) throw togetherError(400, 'The request body is too large.');
      chunks.push(chunk);
    }
    for (const [key, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) if (!params.has(key)) params.set(key, value);
  } else {
    input.req.resume();
  }
  return params;
}

export function createTogether(kernel: Kernel): SandboxProvider {
  const { options } = kernel;
  const dir = path.join(kernel.dataDir, 'together');
  const catalog = limitsOf('together', DEFAULTS);
  const maxRequests = options.maxRequests ?? catalog.maxRequestsPerBatch;
  const maxBytes = options.maxBytes ?? catalog.maxBytesPerBatch;
  const internalFiles = new FileStore(path.join(dir, 'internal'), kernel.now);
  const batches = new BatchStore({
    files: internalFiles,
    dir: path.join(dir, 'batches'),
    tmpDir: kernel.tmpDir,
    now: kernel.now,
    timing: { validationMs: options.validationMs, finalizingMs: options.finalizingMs, cancellingMs: options.cancellingMs, rate: options.rate },
    maxRequests,
    singleModel: catalog.requiresSingleModel,
    shuffleResults: true, // Together: "the output line order may not match the input line order"
    requestFault: () => kernel.faults.requestFault(),
  });
  const store = new TogetherStore(path.join(dir, 'files'), internalFiles, batches, kernel.tmpDir, options.validationMs, kernel.now);
  const counters = { filesCreated: 0, batchesCreated: 0, batchCancels: 0 };

  const createFile = async (input: RouteInput): Promise<void> => {
    const { req } = input;
    if (/multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
      const upload = await receiveUpload(req, kernel.tmpDir, maxBytes);
      if (upload.file) return storeMultipart(input, upload.fields, upload.file);
      // The Python SDK's redirect upload: the fields in a multipart body, the file to follow by PUT.
      const params = new URLSearchParams(input.url.searchParams);
      for (const [key, value] of upload.fields) if (!params.has(key)) params.set(key, value);
      return redirectUpload(input, params);
    }
    return redirectUpload(input, await uploadParams(input));
  };

  /** Reserves the file the fields describe and answers with the redirect to its presigned upload URL. */
  const redirectUpload = async (input: RouteInput, params: URLSearchParams): Promise<void> => {
    const { res } = input;
    const fileName = params.get('file_name') ?? '';
    const purpose = params.get('purpose') ?? '';
    const fileType = params.get('file_type') ?? 'jsonl';
    if (fileName === '') throw togetherError(400, "Missing required parameter 'file_name'.", 'missing_parameter', 'file_name');
    if (!FILE_PURPOSES.includes(purpose)) throw togetherError(400, `Invalid purpose '${purpose}'; expected one of ${FILE_PURPOSES.join(', ')}.`, 'invalid_parameter', 'purpose');
    if (purpose !== 'batch-api') throw togetherError(400, `The sandbox keeps only batch files (purpose 'batch-api'), not '${purpose}'.`, 'invalid_parameter', 'purpose');
    if (!FILE_TYPES.includes(fileType)) throw togetherError(400, `Invalid file_type '${fileType}'; expected one of ${FILE_TYPES.join(', ')}.`, 'invalid_parameter', 'file_type');
    if (fileType !== 'jsonl') throw togetherError(400, `Batch input files must be jsonl, not ${fileType}.`, 'invalid_parameter', 'file_type');
    const file = store.reserve(baseName(fileName), purpose, fileType);
    const location = `${input.base}/v1/_uploads/${encodeURIComponent(file.id)}?signature=${store.signature(file.id)}`;
    res.writeHead(302, { location, 'x-together-file-id': file.id, 'content-length': '0' });
    res.end();
  };

  /** A multipart upload that holds the file: stored at once. */
  const storeMultipart = async ({ res }: RouteInput, fields: ReceivedUpload['fields'], upload: NonNullable<ReceivedUpload['file']>): Promise<void> => {
    try {
      const purpose = fields.get('purpose') ?? '';
      if (purpose !== 'batch-api') throw togetherError(400, `The sandbox keeps only batch files (purpose 'batch-api'), not '${purpose}'.`, 'invalid_parameter', 'purpose');
      const file = store.reserve(baseName(fields.get('file_name') || upload.filename || 'upload.jsonl'), purpose, 'jsonl');
      await store.fill(file, upload.tmpPath, upload.bytes);
      counters.filesCreated++;
      sendJson(res, 200, store.fileJson(file));
    } catch (err) {
      await fs.rm(upload.tmpPath, { force: true });
      throw err;
    }
  };

  /** The presigned upload URL: the signature admits the PUT; the body is the file. */
  const putUpload = async ({ req, res, url, params }: RouteInput): Promise<void> => {
    const file = store.files.get(params[0]);
    if (!file || url.searchParams.get('signature') !== store.signature(file.id)) {
      req.resume();
      return sendUploadError(res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    const body = await receiveBody(req, kernel.tmpDir, maxBytes);
    if (!body.ok) {
      return body.reason === 'too_large'
        ? sendUploadError(res, 400, 'EntityTooLarge', `Your proposed upload exceeds the maximum allowed size of ${maxBytes} bytes.`)
        : sendUploadError(res, 400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    }
    const first = file.path === null;
    if (file.path !== null) await fs.rm(file.path, { force: true });
    await store.fill(file, body.tmpPath, body.bytes);
    if (first) counters.filesCreated++;
    res.writeHead(200, { etag: `"${store.signature(`${file.id}/${body.bytes}`).slice(0, 32)}"`, 'content-length': '0' });
    res.end();
  };

  const createJob = async ({ req, res }: RouteInput): Promise<void> => {
    const body = await readJsonBody(req);
    if (!isPlainObject(body)) throw togetherError(400, 'The request body must be a JSON object.');
    const endpoint = body.endpoint;
    if (typeof endpoint !== 'string' || endpoint === '') throw togetherError(400, "Missing required parameter 'endpoint'.", 'missing_parameter', 'endpoint');
    if (!TOGETHER_BATCH_ENDPOINTS.includes(endpoint)) throw togetherError(400, `Invalid endpoint '${endpoint}'; expected one of ${TOGETHER_BATCH_ENDPOINTS.join(', ')}.`, 'invalid_parameter', 'endpoint');
    if (!ANSWERED_ENDPOINTS.includes(endpoint)) throw togetherError(400, `The sandbox's stand-in model does not serve ${endpoint} (it serves ${ANSWERED_ENDPOINTS.join(', ')}).`, 'invalid_parameter', 'endpoint');
    const inputFileId = body.input_file_id;
    if (typeof inputFileId !== 'string' || inputFileId === '') throw togetherError(400, "Missing required parameter 'input_file_id'.", 'missing_parameter', 'input_file_id');
    const inputFile = store.requireFile(inputFileId, 'input_file_id');
    if (inputFile.purpose !== 'batch-api') throw togetherError(400, `File ${inputFileId} is not a batch input file (purpose '${inputFile.purpose}').`, 'invalid_parameter', 'input_file_id');
    const window = body.completion_window;
    if (window !== undefined && window !== '24h') {
      throw togetherError(400, `Invalid completion_window ${JSON.stringify(window)}: the completion window is 24h and cannot be changed.`, 'invalid_parameter', 'completion_window');
    }
    const modelId = body.model_id ?? null;
    if (modelId !== null && (typeof modelId !== 'string' || modelId === '')) throw togetherError(400, "'model_id' must be a non-empty string.", 'invalid_parameter', 'model_id');
    if (body.priority !== undefined && typeof body.priority !== 'number') throw togetherError(400, "'priority' must be a number.", 'invalid_parameter', 'priority');
    const faults = kernel.faults.current;
    const record = await store.create({ inputFile, endpoint, modelId: modelId as string | null }, faults);
    counters.batchesCreated++;
    if (faults.createResponseDelayMs) await sleep(faults.createResponseDelayMs);
    if (kernel.faults.losesCreateResponse(res)) return;
    const job = await store.jobJson(record);
    const model = job.model_id;
    const warning = model && !DISCOUNTED_MODELS.includes(model) ? `Model '${model}' is not discounted for batch inference; this batch runs at standard serverless rates.` : undefined;
    sendJson(res, 201, warning ? { job, warning } : { job });
  };

  const routes: Route[] = [
    { method: 'POST', pattern: /^\/v1\/files$/, handler: createFile },
    { method: 'PUT', pattern: UPLOAD_PATH, handler: putUpload },
    { method: 'GET', pattern: /^\/v1\/files$/, handler: async ({ res }) => sendJson(res, 200, { object: 'list', data: store.listFiles() }) },
    { method: 'GET', pattern: new RegExp(`^/v1/files/${ID}$`), handler: async ({ res, params }) => sendJson(res, 200, store.fileJson(store.requireFile(params[0]))) },
    {
      // The Python SDK's last step of an upload (`UploadManager.callback`): the uploaded file, as a FileResponse.
      method: 'POST',
      pattern: new RegExp(`^/v1/files/${ID}/preprocess$`),
      handler: async ({ req, res, params }) => {
        req.resume();
        sendJson(res, 200, store.fileJson(store.requireFile(params[0])));
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/v1/files/${ID}$`),
      handler: async ({ res, params }) => {
        await store.deleteFile(params[0]);
        sendJson(res, 200, { id: params[0], deleted: true });
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/files/${ID}/content$`),
      handler: async ({ res, params }) => {
        const file = store.requireFile(params[0]);
        kernel.counters.contentDownloadsInFlight++;
        try {
          await streamFile(res, file, { bytesPerSecond: kernel.faults.current.downloadBytesPerSecond, truncate: kernel.faults.truncatesDownload() });
        } finally {
          kernel.counters.contentDownloadsInFlight--;
        }
      },
    },
    { method: 'POST', pattern: /^\/v1\/batches$/, handler: createJob },
    { method: 'GET', pattern: /^\/v1\/batches$/, handler: async ({ res }) => sendJson(res, 200, await store.listJobs()) },
    { method: 'GET', pattern: new RegExp(`^/v1/batches/${ID}$`), handler: async ({ res, params }) => sendJson(res, 200, await store.jobJson(store.requireJob(params[0]))) },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/batches/${ID}/cancel$`),
      handler: async ({ req, res, params }) => {
        req.resume();
        const { job, changed } = await store.cancel(params[0]);
        if (changed) counters.batchCancels++;
        sendJson(res, 200, job);
      },
    },
  ];

  return {
    name: 'together',
    routes,
    authenticate: (req, path) => authenticateTogether(req, path, options.apiKey),
    sendError: (res, err) => sendTogetherError(res, err),
    requestIds: TOGETHER_REQUEST_IDS,
    store: {
      init: async () => {
        await store.init();
        await internalFiles.init();
        await batches.init();
      },
      stats: () => ({ ...counters, batchesByStatus: store.countByStatus() }),
      drain: () => store.drain(),
    },
  };
}

export const together: ProviderModule = { name: 'together', basePath: '/v1', create: createTogether };
