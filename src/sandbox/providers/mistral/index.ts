/**
 * The `mistral` module: Mistral's Files and Batch Jobs APIs at `/mistral` (then `/v1/files`, `/v1/batch/jobs`), as
 * `@mistralai/mistralai` calls them with `serverURL: <sandbox>/mistral` (provider-apis-2.md section 2). Built on
 * the OpenAI emulation's stores (./store.ts); the wire objects are Mistral's, exactly as the SDK's zod schemas
 * want them (./wire.ts), and so are its errors and Bearer admission (./errors.ts).
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promises as fs } from 'node:fs';
import { streamFile } from '../../kernel/download';
import { badRequest, isPlainObject, readJsonBody, sendJson } from '../../kernel/http';
import { limitsOf } from '../../kernel/limits';
import type { Kernel, ProviderModule, Route, RouteInput, SandboxProvider } from '../../kernel/provider';
import { BatchStore } from '../openai/batches';
import { FileStore } from '../openai/files';
import { receiveUpload } from '../openai/upload';
import { authenticateMistral, MISTRAL_REQUEST_IDS, sendMistralError } from './errors';
import { MistralStore, type JobFilter } from './store';
import { ANSWERED_ENDPOINTS, JOB_STATUSES, MISTRAL_BATCH_ENDPOINTS } from './wire';

const MB = 1024 * 1024;
const DEFAULTS = { maxRequestsPerBatch: 1_000_000, maxBytesPerBatch: 512 * MB, requiresSingleModel: true, metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 } };
const ID = '([^/]+)';
const JOB_QUERY = new Set(['page', 'page_size', 'model', 'agent_id', 'metadata', 'created_after', 'created_by_me', 'status', 'order_by']);

function intParam(url: URL, name: string, fallback: number, max = Infinity): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max) throw badRequest(`Invalid value for '${name}': ${raw}.`, name);
  return value;
}

export function createMistral(kernel: Kernel): SandboxProvider {
  const { options } = kernel;
  const dir = path.join(kernel.dataDir, 'mistral');
  const catalog = limitsOf('mistral', DEFAULTS);
  const maxRequests = options.maxRequests ?? catalog.maxRequestsPerBatch;
  const maxBytes = options.maxBytes ?? catalog.maxBytesPerBatch;
  const files = new FileStore(path.join(dir, 'files'), kernel.now);
  const batches = new BatchStore({
    files,
    dir: path.join(dir, 'batches'),
    tmpDir: kernel.tmpDir,
    now: kernel.now,
    timing: { validationMs: options.validationMs, finalizingMs: options.finalizingMs, cancellingMs: options.cancellingMs, rate: options.rate },
    maxRequests,
    singleModel: catalog.requiresSingleModel,
    shuffleResults: true, // Mistral does not keep input order in its result files
    requestFault: () => kernel.faults.requestFault(),
  });
  const store = new MistralStore(files, batches, kernel.tmpDir, kernel.now);
  const counters = { filesCreated: 0, batchesCreated: 0, batchCancels: 0 };
  const visible = (id: string) => {
    const file = files.require(id, 'file_id');
    return file;
  };

  const uploadFile = async ({ req, res }: RouteInput): Promise<void> => {
    const upload = await receiveUpload(req, kernel.tmpDir, maxBytes);
    try {
      const purpose = upload.fields.get('purpose') ?? 'fine-tune';
      if (!['batch', 'fine-tune', 'ocr'].includes(purpose)) throw badRequest(`Invalid purpose '${purpose}'; expected one of fine-tune, batch, ocr.`, 'purpose');
      if (purpose !== 'batch') throw badRequest(`The sandbox keeps only batch files (purpose 'batch'), not '${purpose}'.`, 'purpose');
      if (!upload.file) throw badRequest("Field 'file' is required.", 'file');
      const expiry = upload.fields.get('expiry');
      const hours = expiry === undefined || expiry === '' ? undefined : Number(expiry);
      if (hours !== undefined && (!Number.isInteger(hours) || hours < 1)) throw badRequest(`Invalid expiry '${expiry}': expected a number of hours.`, 'expiry');
      const stored = await files.add({ sourcePath: upload.file.tmpPath, bytes: upload.file.bytes, filename: upload.file.filename, purpose: 'batch', expiresAfterSeconds: hours && hours * 3600 });
      counters.filesCreated++;
      sendJson(res, 200, store.fileJson(stored));
    } catch (err) {
      if (upload.file) await fs.rm(upload.file.tmpPath, { force: true });
      throw err;
    }
  };

  const listFiles = async ({ res, url }: RouteInput): Promise<void> => {
    const page = intParam(url, 'page', 0);
    const pageSize = intParam(url, 'page_size', 100, 10_000);
    const search = url.searchParams.get('search');
    const sampleTypes = url.searchParams.getAll('sample_type');
    const sources = url.searchParams.getAll('source');
    const purpose = url.searchParams.get('purpose');
    const all = files
      .list(null, { order: 'desc', after: null, limit: Infinity })
      .data.map((f) => store.fileJson(files.require(f.id)))
      .filter(
        (f) =>
          (search === null || f.filename.includes(search) || f.id === search) &&
          (sampleTypes.length === 0 || sampleTypes.includes(f.sample_type)) &&
          (sources.length === 0 || sources.includes(f.source)) &&
          (purpose === null || f.purpose === purpose),
      );
    sendJson(res, 200, { data: all.slice(page * pageSize, (page + 1) * pageSize), object: 'list', total: all.length });
  };

  const createJob = async ({ req, res }: RouteInput): Promise<void> => {
    const body = await readJsonBody(req);
    if (!isPlainObject(body)) throw badRequest('The request body must be a JSON object.');
    const endpoint = body.endpoint;
    if (typeof endpoint !== 'string') throw badRequest("Field 'endpoint' is required.", 'endpoint');
    if (!MISTRAL_BATCH_ENDPOINTS.includes(endpoint)) throw badRequest(`Invalid endpoint '${endpoint}'; expected one of ${MISTRAL_BATCH_ENDPOINTS.join(', ')}.`, 'endpoint');
    if (!ANSWERED_ENDPOINTS.includes(endpoint)) throw badRequest(`The sandbox's stand-in model does not serve ${endpoint} (it serves ${ANSWERED_ENDPOINTS.join(', ')}).`, 'endpoint');
    const inputIds = body.input_files ?? [];
    const requests = body.requests ?? [];
    if (!Array.isArray(inputIds) || !inputIds.every((v) => typeof v === 'string')) throw badRequest("'input_files' must be a list of file ids.", 'input_files');
    if (!Array.isArray(requests)) throw badRequest("'requests' must be a list.", 'requests');
    if (inputIds.length === 0 && requests.length === 0) throw badRequest("Either 'input_files' or 'requests' is required.", 'input_files');
    const inputFiles = inputIds.map((id) => {
      const file = visible(id);
      if (store.fileJson(file).sample_type !== 'batch_request') throw badRequest(`File ${id} is not a batch input file.`, 'input_files');
      return file;
    });
    const model = body.model ?? null;
    if (model !== null && typeof model !== 'string') throw badRequest("'model' must be a string.", 'model');
    const timeoutHours = body.timeout_hours ?? 24;
    if (typeof timeoutHours !== 'number' || !Number.isInteger(timeoutHours) || timeoutHours < 1) throw badRequest("'timeout_hours' must be a positive integer.", 'timeout_hours');
    const metadata = body.metadata ?? null;
    if (metadata !== null && (!isPlainObject(metadata) || !Object.values(metadata).every((v) => typeof v === 'string'))) {
      throw badRequest("'metadata' must be an object of strings.", 'metadata');
    }
    const faults = kernel.faults.current;
    const job = await store.create({ inputFiles, requests, endpoint, model, metadata: metadata as Record<string, string> | null, timeoutHours }, faults);
    counters.batchesCreated++;
    if (faults.createResponseDelayMs) await sleep(faults.createResponseDelayMs);
    if (kernel.faults.losesCreateResponse(res)) return;
    sendJson(res, 200, job);
  };

  const listJobs = async ({ res, url }: RouteInput): Promise<void> => {
    const q = url.searchParams;
    const order = q.get('order_by') ?? '-created';
    if (order !== 'created' && order !== '-created') throw badRequest(`Invalid order_by '${order}'.`, 'order_by');
    const metadata: Record<string, string> = {};
    const rawMetadata = q.get('metadata');
    if (rawMetadata) {
      try {
        Object.assign(metadata, JSON.parse(rawMetadata) as Record<string, string>);
      } catch {
        throw badRequest("'metadata' must be a JSON object.", 'metadata');
      }
    }
    // The SDK explodes the metadata object into its own query parameters (`anybatch_key=...`).
    for (const [key, value] of q) if (!JOB_QUERY.has(key)) metadata[key] = value;
    const status = q.getAll('status').flatMap((s) => s.split(','));
    for (const s of status) if (!(JOB_STATUSES as readonly string[]).includes(s)) throw badRequest(`Invalid status '${s}'.`, 'status');
    const createdAfter = q.get('created_after');
    const createdAfterMs = createdAfter ? Date.parse(createdAfter) : null;
    if (createdAfterMs !== null && Number.isNaN(createdAfterMs)) throw badRequest(`Invalid created_after '${createdAfter}'.`, 'created_after');
    const filter: JobFilter = { status, model: q.get('model'), createdAfterMs, metadata };
    sendJson(res, 200, await store.list(filter, order, intParam(url, 'page', 0), intParam(url, 'page_size', 100, 10_000)));
  };

  const routes: Route[] = [
    { method: 'POST', pattern: /^\/v1\/files$/, handler: uploadFile },
    { method: 'GET', pattern: /^\/v1\/files$/, handler: listFiles },
    { method: 'GET', pattern: new RegExp(`^/v1/files/${ID}$`), handler: async ({ res, params }) => sendJson(res, 200, { ...store.fileJson(visible(params[0])), deleted: false }) },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/v1/files/${ID}$`),
      handler: async ({ res, params }) => {
        visible(params[0]);
        await files.delete(params[0]);
        sendJson(res, 200, { id: params[0], object: 'file', deleted: true });
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/files/${ID}/content$`),
      handler: async ({ res, params }) => {
        const file = visible(params[0]);
        kernel.counters.contentDownloadsInFlight++;
        try {
          await streamFile(res, file, { bytesPerSecond: kernel.faults.current.downloadBytesPerSecond, truncate: kernel.faults.truncatesDownload() });
        } finally {
          kernel.counters.contentDownloadsInFlight--;
        }
      },
    },
    { method: 'POST', pattern: /^\/v1\/batch\/jobs$/, handler: createJob },
    { method: 'GET', pattern: /^\/v1\/batch\/jobs$/, handler: listJobs },
    { method: 'GET', pattern: new RegExp(`^/v1/batch/jobs/${ID}$`), handler: async ({ res, params }) => sendJson(res, 200, await store.retrieve(params[0])) },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/batch/jobs/${ID}/cancel$`),
      handler: async ({ res, params }) => {
        const job = await store.cancel(params[0]);
        counters.batchCancels++;
        sendJson(res, 200, job);
      },
    },
  ];

  return {
    name: 'mistral',
    routes,
    authenticate: (req) => authenticateMistral(req, options.apiKey),
    sendError: (res, err) => sendMistralError(res, err),
    requestIds: MISTRAL_REQUEST_IDS,
    store: {
      init: async () => {
        await files.init();
        await batches.init();
      },
      stats: () => ({ ...counters, batchesByStatus: batches.countByStatus() }),
      drain: () => batches.drain(),
    },
  };
}

export const mistral: ProviderModule = { name: 'mistral', basePath: '', create: createMistral };
