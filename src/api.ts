/**
 * The public batch API, following any-llm's: createBatch, retrieveBatch, cancelBatch, listBatches,
 * retrieveBatchResults (and a streaming iterator). Each batch is a Temporal workflow whose id is the batch id.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time';
import type { AnybatchBatch } from './batch';
import { isTerminal } from './batch';
import { anybatchHome, taskQueue } from './config';
import { BatchFailedError, BatchNotCompleteError, BatchNotFoundError, UsageError } from './errors';
import { getAdapter } from './providers';
import type { ResultLine } from './providers/types';
import { readJsonLines } from './results/jsonl';
import { BATCH_CREATED_AT, BATCH_PROVIDER, BATCH_STATUS, BATCH_TOTAL } from './search-attributes';
import { seal } from './secrets';
import { temporalClient } from './temporal/client';
import type { TemporalOptions } from './temporal/client';
import { validateInputFile } from './validation';
import { buildBatch } from './workflows/state';
import { BATCH_WORKFLOW_TYPE, MEMO_BATCH, cancelSignal, submittedUpdate } from './workflows/shared';
import type { BatchSpec, BatchWorkflowInput } from './workflows/shared';

export interface ClientOptions {
  /** Where Temporal is (default: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, then 127.0.0.1:7233, `default`). */
  temporal?: TemporalOptions;
  /** Task queue the anybatch worker listens on (default: ANYBATCH_TASK_QUEUE, then `anybatch`). */
  taskQueue?: string;
}

export interface CreateBatchOptions extends ClientOptions {
  /** Only `24h` today, as the providers allow. */
  completionWindow?: string;
  /** Your key/value pairs, stored on the batch (and on the provider batch). */
  metadata?: Record<string, string>;
  /** Provider API key for this batch; default: the worker's environment (e.g. OPENAI_API_KEY). Sealed in transit. */
  apiKey?: string;
  /** Provider base URL (e.g. the sandbox's); default: the worker's environment (e.g. OPENAI_BASE_URL). */
  apiBase?: string;
  /** Passed to the provider SDK client's constructor. Sealed in transit, like apiKey. */
  clientArgs?: Record<string, unknown>;
  /** How often the provider is polled: a duration such as `30s` or milliseconds (default 30s). */
  pollInterval?: string | number;
  /** Folder for output.jsonl and errors.jsonl (default `$ANYBATCH_HOME/results/<batch id>`). */
  resultsDir?: string;
  /** Use this batch id instead of a generated one (it is the workflow id; must be unique). */
  batchId?: string;
  /** Resolve as soon as the workflow started, without waiting for the provider to accept the batch. */
  noWait?: boolean;
  /**
   * Publish progress as search attributes for the Web UI (default true; the worker registers them). Set false
   * on a cluster where they cannot be registered: status then lives in the memo and the `status` query only.
   */
  searchAttributes?: boolean;
  /** At most this many requests per provider batch (default and ceiling: the provider's limit). */
  maxRequestsPerPart?: number;
  /** At most this many bytes sent per provider batch (default and ceiling: the provider's limit). */
  maxBytesPerPart?: number;
  /** Provider batches submitted at once when the input is split (default 4). */
  submitConcurrency?: number;
  /** Provider-specific options, passed to the provider adapter. */
  [providerOption: string]: unknown;
}

const KNOWN_OPTIONS = new Set([
  'temporal', 'taskQueue', 'completionWindow', 'metadata', 'apiKey', 'apiBase', 'clientArgs', 'pollInterval', 'resultsDir', 'batchId', 'noWait', 'searchAttributes', 'maxRequestsPerPart', 'maxBytesPerPart', 'submitConcurrency',
]);
/** Metadata keys anybatch itself writes on provider batches. */
const RESERVED_METADATA = 1;
const DEFAULT_POLL_MS = 30_000;

export function newBatchId(now = Date.now()): string {
  return `ab_${now.toString(36).padStart(9, '0')}${crypto.randomBytes(8).toString('hex')}`;
}

function durationMs(value: string | number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = typeof value === 'number' ? value : msToNumber(value as Parameters<typeof msToNumber>[0]);
  } catch {
    ms = NaN;
  }
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`${name} must be a positive duration such as "30s" or "1m" (got ${JSON.stringify(value)}).`);
  return ms;
}

function positiveOption(value: number | undefined, name: string): number | null {
  if (value === undefined) return null;
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer (got ${value}).`);
  return value;
}

function checkMetadata(provider: string, metadata: Record<string, string> | undefined): Record<string, string> | null {
  if (metadata === undefined) return null;
  const limits = getAdapter(provider).capabilities.metadata;
  const entries = Object.entries(metadata);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new UsageError(`metadata.${k} must be a string.`);
    if (limits && k.length > limits.maxKeyLength) throw new UsageError(`metadata key "${k}" is longer than ${limits.maxKeyLength} characters.`);
    if (limits && v.length > limits.maxValueLength) throw new UsageError(`metadata.${k} is longer than ${limits.maxValueLength} characters.`);
  }
  if (limits && entries.length > limits.maxPairs - RESERVED_METADATA) {
    throw new UsageError(`metadata has ${entries.length} pairs; ${provider} allows ${limits.maxPairs - RESERVED_METADATA} (anybatch uses one).`);
  }
  return entries.length > 0 ? { ...metadata } : null;
}

/**
 * Validates the input, stages it for the worker, starts the batch workflow and resolves once the provider
 * accepted the batch. Invalid input throws `InputValidationError` before anything starts.
 */
export async function createBatch(provider: string, inputFilePath: string, endpoint: string, options: CreateBatchOptions = {}): Promise<AnybatchBatch> {
  const adapter = getAdapter(provider);
  const capabilities = adapter.capabilities;
  const completionWindow = options.completionWindow ?? '24h';
  if (!capabilities.completionWindows.includes(completionWindow)) {
    throw new UsageError(`completionWindow "${completionWindow}" is not supported by ${provider}; use ${capabilities.completionWindows.join(' or ')}.`);
  }
  const metadata = checkMetadata(provider, options.metadata);
  const pollIntervalMs = durationMs(options.pollInterval, 'pollInterval', DEFAULT_POLL_MS);
  const maxRequestsPerPart = positiveOption(options.maxRequestsPerPart, 'maxRequestsPerPart');
  const maxBytesPerPart = positiveOption(options.maxBytesPerPart, 'maxBytesPerPart');
  const submitConcurrency = positiveOption(options.submitConcurrency, 'submitConcurrency') ?? undefined;
  const batchId = options.batchId ?? newBatchId();
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(batchId)) throw new UsageError(`batchId "${batchId}" may only hold letters, digits, "_", "-" and ".".`);

  const home = anybatchHome();
  const staged = path.join(home, 'inputs', `${batchId}.jsonl`);
  await fs.promises.mkdir(path.dirname(staged), { recursive: true });
  const providerOptions = Object.fromEntries(Object.entries(options).filter(([k]) => !KNOWN_OPTIONS.has(k)));
  const checkRequest = adapter.checkRequest?.bind(adapter);
  const input = await validateInputFile(
    inputFilePath,
    {
      file: inputFilePath,
      endpoint,
      capabilities,
      // Inputs past the provider's limits are split into several provider batches; a single line must still fit one.
      enforceBatchLimits: false,
      maxBytes: maxBytesPerPart ?? undefined,
      checkPayload: checkRequest && ((payload) => checkRequest(payload, endpoint, providerOptions)),
    },
    { stageTo: staged },
  );
  const credentials = options.apiKey !== undefined || options.clientArgs !== undefined ? seal({ apiKey: options.apiKey, clientArgs: options.clientArgs }) : null;
  const createdAt = Math.floor(Date.now() / 1000);
  const spec: BatchSpec = {
    batchId,
    provider,
    endpoint,
    completionWindow,
    metadata,
    createdAt,
    input: { path: staged, requestCount: input.requestCount, bytes: input.bytes, model: input.models.length === 1 ? input.models[0] : null },
    resultsDir: path.resolve(options.resultsDir ?? path.join(home, 'results', batchId)),
    pollIntervalMs,
    connection: { apiBase: options.apiBase ?? null, sealed: credentials },
    maxRequestsPerPart,
    maxBytesPerPart,
    submitConcurrency,
    providerOptions,
    searchAttributes: options.searchAttributes ?? true,
    warnings: input.warnings,
  };
  const initial = buildBatch(spec, { parts: [], cancelRequested: false, results: null, failure: null, finishedAt: null, pollFailures: 0 });

  let handle: WorkflowHandle;
  try {
    const client = await temporalClient(options.temporal);
    handle = await client.workflow.start(BATCH_WORKFLOW_TYPE, {
      workflowId: batchId,
      taskQueue: options.taskQueue ?? taskQueue(),
      args: [{ spec } satisfies BatchWorkflowInput],
      memo: { [MEMO_BATCH]: initial },
      typedSearchAttributes: spec.searchAttributes
        ? [
            { key: BATCH_STATUS, value: initial.status },
            { key: BATCH_PROVIDER, value: provider },
            { key: BATCH_TOTAL, value: input.requestCount },
            { key: BATCH_CREATED_AT, value: new Date(createdAt * 1000) },
          ]
        : [],
    });
  } catch (err) {
    await fs.promises.rm(staged, { force: true });
    throw err;
  }
  if (options.noWait) return initial;
  const batch = await handle.executeUpdate(submittedUpdate);
  if (batch.anybatch.failure && batch.anybatch.provider_batches.length === 0) throw new BatchFailedError(batchId, batch.anybatch.failure);
  return batch;
}

function fromMemo(memo: Record<string, unknown> | undefined): AnybatchBatch | null {
  const batch = memo?.[MEMO_BATCH] as AnybatchBatch | undefined;
  return batch && typeof batch === 'object' && batch.object === 'batch' ? batch : null;
}

/** A workflow that closed without finishing its batch (terminated, timed out) reports the batch failed. */
function withClosedStatus(batch: AnybatchBatch, info: Pick<WorkflowExecutionInfo, 'status'>): AnybatchBatch {
  const closed = ['TERMINATED', 'TIMED_OUT', 'FAILED', 'CANCELLED'].includes(info.status.name);
  if (!closed || isTerminal(batch.status)) return batch;
  const reason = `The batch workflow was ${info.status.name.toLowerCase().replace('_', ' ')} before the batch finished.`;
  return { ...batch, status: 'failed', anybatch: { ...batch.anybatch, failure: reason } };
}

/** Reads a batch by id whatever its provider (used by the CLI, where the id alone names the batch). */
export async function loadBatch(batchId: string, options: ClientOptions = {}): Promise<AnybatchBatch> {
  const client = await temporalClient(options.temporal);
  let description;
  try {
    description = await client.workflow.getHandle(batchId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new BatchNotFoundError(batchId);
    throw err;
  }
  const batch = fromMemo(description.memo);
  if (!batch || description.type !== BATCH_WORKFLOW_TYPE) throw new BatchNotFoundError(batchId);
  return withClosedStatus(batch, description);
}

/** The batch as last recorded by its workflow; works for finished batches with no worker running. */
export async function retrieveBatch(provider: string, batchId: string, options: ClientOptions = {}): Promise<AnybatchBatch> {
  const batch = await loadBatch(batchId, options);
  if (batch.anybatch.provider !== provider) throw new BatchNotFoundError(batchId, provider);
  return batch;
}

export interface CancelBatchOptions extends ClientOptions {
  /** Wait until the batch is terminal and its partial results are written. */
  wait?: boolean;
}

/** Asks the batch to cancel (its provider batches are cancelled; partial results are still delivered). */
export async function cancelBatch(provider: string | null, batchId: string, options: CancelBatchOptions = {}): Promise<AnybatchBatch> {
  const batch = provider === null ? await loadBatch(batchId, options) : await retrieveBatch(provider, batchId, options);
  if (isTerminal(batch.status)) return batch;
  const client = await temporalClient(options.temporal);
  const handle = client.workflow.getHandle(batchId);
  await handle.signal(cancelSignal);
  if (options.wait) return (await handle.result()) as AnybatchBatch;
  return { ...batch, status: 'cancelling' };
}

export interface ListBatchesOptions extends ClientOptions {
  /** A batch id: list the batches created before it. */
  after?: string;
  /** How many batches (1 to 100, default 20). */
  limit?: number;
}

function escapeQuery(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

/** The provider's batches (every provider's with `null`), newest first, paged like OpenAI's list (`after`, `limit`). */
export async function listBatches(provider: string | null, options: ListBatchesOptions = {}): Promise<AnybatchBatch[]> {
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError(`limit must be an integer from 1 to 100 (got ${options.limit}).`);
  if (provider !== null) getAdapter(provider);
  const client = await temporalClient(options.temporal);
  let query = `WorkflowType = '${BATCH_WORKFLOW_TYPE}' AND ExecutionStatus != 'ContinuedAsNew'`;
  if (provider !== null) query += ` AND ${BATCH_PROVIDER.name} = '${escapeQuery(provider)}'`;
  let cursor: AnybatchBatch | null = null;
  if (options.after !== undefined) {
    cursor = provider === null ? await loadBatch(options.after, options) : await retrieveBatch(provider, options.after, options);
    query += ` AND ${BATCH_CREATED_AT.name} <= '${new Date(cursor.created_at * 1000).toISOString()}'`;
  }
  const byId = new Map<string, AnybatchBatch>();
  for await (const info of client.workflow.list({ query })) {
    const batch = fromMemo(info.memo);
    if (batch) byId.set(batch.id, withClosedStatus(batch, info));
  }
  const newestFirst = (a: AnybatchBatch, b: AnybatchBatch) => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  const sorted = [...byId.values()].sort(newestFirst);
  const start = cursor ? sorted.filter((b) => newestFirst(cursor!, b) < 0) : sorted;
  return start.slice(0, limit);
}

/** One request's outcome, as in any-llm's `BatchResultItem`. */
export interface BatchResultItem {
  custom_id: string;
  /** The endpoint's response body (e.g. a `chat.completion`) for a successful request. */
  result: unknown | null;
  error: { code: string; message: string } | null;
}

export interface BatchResult {
  results: BatchResultItem[];
}

function toItem(line: ResultLine): BatchResultItem {
  if (line.error) return { custom_id: line.custom_id, result: null, error: line.error };
  const status = line.response?.status_code ?? 0;
  if (status >= 200 && status < 300) return { custom_id: line.custom_id, result: line.response!.body, error: null };
  const body = line.response?.body as { error?: { code?: string | null; type?: string; message?: string } } | undefined;
  return {
    custom_id: line.custom_id,
    result: null,
    error: { code: body?.error?.code ?? body?.error?.type ?? `http_${status}`, message: body?.error?.message ?? `HTTP ${status}` },
  };
}

/** Streams every result line (output file, then error file) of a terminal batch. */
export async function* batchResultLines(provider: string | null, batchId: string, options: ClientOptions = {}): AsyncGenerator<ResultLine> {
  const batch = provider === null ? await loadBatch(batchId, options) : await retrieveBatch(provider, batchId, options);
  const files = batch.anybatch.results;
  if (!isTerminal(batch.status) || !files) throw new BatchNotCompleteError(batchId, batch.status);
  for (const file of [files.output_path, files.errors_path]) {
    yield* readJsonLines<ResultLine>(fs.createReadStream(file, { highWaterMark: 1 << 20 }), { source: file });
  }
}

/** Streams every request's outcome of a terminal batch, as `BatchResultItem`s. */
export async function* iterateBatchResults(provider: string | null, batchId: string, options: ClientOptions = {}): AsyncGenerator<BatchResultItem> {
  for await (const line of batchResultLines(provider, batchId, options)) yield toItem(line);
}

/** Every request's outcome of a terminal batch. Throws `BatchNotCompleteError` before then. */
export async function retrieveBatchResults(provider: string | null, batchId: string, options: ClientOptions = {}): Promise<BatchResult> {
  const results: BatchResultItem[] = [];
  for await (const item of iterateBatchResults(provider, batchId, options)) results.push(item);
  return { results };
}
