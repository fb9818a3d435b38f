/**
 * The public batch API, following any-llm's: createBatch, retrieveBatch, cancelBatch, listBatches,
 * retrieveBatchResults (and a streaming iterator). Each batch is a Temporal workflow whose id is the batch id.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowExecutionDescription, WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import type { AnybatchBatch, RetryingStep } from './batch';
import { isTerminal } from './batch';
import { anybatchHome, taskQueue } from './config';
import { BatchFailedError, BatchNotCompleteError, BatchNotFoundError, UsageError } from './errors';
import { getAdapter } from './providers';
import type { ResultLine } from './providers/types';
import { readJsonLines } from './results/jsonl';
import { BATCH_CREATED_AT, BATCH_PROVIDER, BATCH_STATUS, BATCH_TOTAL } from './search-attributes';
import { seal } from './secrets';
import { temporalClient } from './temporal/client';
import { checkProvider, parseCreateOptions } from './options';
import type { ClientOptions, CreateBatchOptions, ProviderName } from './options';
import { ENDPOINTS, isEndpoint, resultsEndpointCheck } from './results/types';
import type { BatchResult, BatchResultItem, Endpoint, EndpointOf, EndpointResult } from './results/types';
import { requestIdsPath, validateInputFile } from './validation';
import { staticDetails, staticSummary } from './workflows/details';
import { buildBatch } from './workflows/state';
import { BATCH_WORKFLOW_TYPE, MEMO_BATCH, submittedUpdate } from './workflows/shared';
import type { BatchSpec, BatchWorkflowInput } from './workflows/shared';

export type { ClientOptions, CreateBatchOptions } from './options';
export type { BatchResult, BatchResultItem } from './results/types';

export function newBatchId(now = Date.now()): string {
  return `ab_${now.toString(36).padStart(9, '0')}${crypto.randomBytes(8).toString('hex')}`;
}

/**
 * Validates the input, stages it for the worker, starts the batch workflow and resolves once the provider
 * accepted the batch. Invalid input throws `InputValidationError` before anything starts.
 */
export async function createBatch<P extends ProviderName>(
  provider: P,
  inputFilePath: string,
  endpoint: EndpointOf<P>,
  createOptions?: NoInfer<CreateBatchOptions<P>>,
): Promise<AnybatchBatch> {
  const adapter = getAdapter(checkProvider(provider));
  const capabilities = adapter.capabilities;
  // Every option is checked (names and types) before anything starts: see src/options.ts.
  const options = parseCreateOptions(provider, createOptions);
  const { completionWindow, metadata, pollIntervalMs, maxRequestsPerPart, maxBytesPerPart, submitConcurrency, providerOptions } = options;
  const batchId = options.batchId ?? newBatchId();

  const home = anybatchHome();
  const staged = path.join(home, 'inputs', `${batchId}.jsonl`);
  await fs.promises.mkdir(path.dirname(staged), { recursive: true });
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
    ...(options.retryTimeoutMs !== undefined ? { retryTimeoutMs: options.retryTimeoutMs } : {}),
    providerOptions,
    searchAttributes: options.searchAttributes,
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
      // What the Web UI's list and the batch's page show with no set-up.
      staticSummary: staticSummary(spec),
      staticDetails: staticDetails(spec, path.resolve(inputFilePath)),
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
    await Promise.all([staged, requestIdsPath(staged)].map((f) => fs.promises.rm(f, { force: true })));
    throw err;
  }
  if (options.noWait) return initial;
  let batch: AnybatchBatch;
  try {
    batch = await handle.executeUpdate(submittedUpdate);
  } catch (err) {
    // The batch may have ended before the update reached it (e.g. refused at once): its record says how.
    batch = await loadBatch(batchId, options).catch(() => {
      throw err;
    });
    if (!isTerminal(batch.status)) throw err;
  }
  if (batch.anybatch.failure && batch.anybatch.provider_batches.length === 0) throw new BatchFailedError(batchId, batch.anybatch.failure, batch);
  return batch;
}

/** The pending activity's name as the step users see. */
const STEPS: Record<string, string> = {
  planParts: 'plan',
  uploadPart: 'upload',
  createPartBatch: 'create',
  retrieveProviderBatch: 'poll',
  cancelProviderBatch: 'cancel',
  downloadPartResults: 'download',
  mergeResults: 'merge',
};

/** A step that failed and waits for its next attempt, from the workflow's pending activities (the first such). */
function retryingStep(description: WorkflowExecutionDescription): RetryingStep | null {
  for (const pending of description.raw.pendingActivities ?? []) {
    const error = pending.lastFailure?.message;
    if (!error) continue;
    const next = pending.nextAttemptScheduleTime?.seconds;
    return {
      step: STEPS[pending.activityType?.name ?? ''] ?? pending.activityType?.name ?? 'step',
      attempts: Math.max(1, (pending.attempt ?? 2) - 1),
      error,
      next_at: next !== undefined && next !== null ? Number(next) : null,
    };
  }
  return null;
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
  const closed = withClosedStatus(batch, description);
  if (isTerminal(closed.status)) return closed;
  const retrying = retryingStep(description) ?? closed.anybatch.retrying ?? null;
  return { ...closed, anybatch: { ...closed.anybatch, retrying } };
}

/** The batch as last recorded by its workflow; works for finished batches with no worker running. */
export async function retrieveBatch(provider: ProviderName, batchId: string, options: ClientOptions = {}): Promise<AnybatchBatch> {
  checkProvider(provider);
  const batch = await loadBatch(batchId, options);
  if (batch.anybatch.provider !== provider) throw new BatchNotFoundError(batchId, provider);
  return batch;
}

export interface CancelBatchOptions extends ClientOptions {
  /** Wait until the batch is terminal and its partial results are written. */
  wait?: boolean;
}

/**
 * Asks the batch to cancel (its provider batches are cancelled; partial results are still delivered). A batch
 * that is already terminal (completed, failed, expired, cancelled) is returned unchanged: nothing is sent.
 * `provider` null: the id alone names the batch. An unknown id is `BatchNotFoundError`.
 */
export async function cancelBatch(provider: ProviderName | null, batchId: string, options: CancelBatchOptions = {}): Promise<AnybatchBatch> {
  const batch = provider === null ? await loadBatch(batchId, options) : await retrieveBatch(provider, batchId, options);
  if (isTerminal(batch.status)) return batch;
  const client = await temporalClient(options.temporal);
  const handle = client.workflow.getHandle(batchId);
  // Temporal's own cancellation (the batch workflow treats it as a graceful cancel, like the `cancel` signal), so
  // the workflow ends as cancelled in the Web UI.
  await handle.cancel();
  if (!options.wait) return { ...batch, status: 'cancelling' };
  // A cancelled batch ends its workflow as cancelled (an error for `result()`); its record is the answer.
  await handle.result().catch(() => undefined);
  return loadBatch(batchId, options);
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
export async function listBatches(provider: ProviderName | null, options: ListBatchesOptions = {}): Promise<AnybatchBatch[]> {
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError(`limit must be an integer from 1 to 100 (got ${options.limit}).`);
  if (provider !== null) checkProvider(provider);
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

function toItem<E extends Endpoint>(line: ResultLine): BatchResultItem<E> {
  if (line.error) return { custom_id: line.custom_id, result: null, error: line.error };
  const status = line.response?.status_code ?? 0;
  if (status >= 200 && status < 300) return { custom_id: line.custom_id, result: line.response!.body as EndpointResult[E], error: null };
  const body = line.response?.body as { error?: { code?: string | null; type?: string; message?: string } } | undefined;
  return {
    custom_id: line.custom_id,
    result: null,
    error: { code: body?.error?.code ?? body?.error?.type ?? `http_${status}`, message: body?.error?.message ?? `HTTP ${status}` },
  };
}

/** Streams every result line (output file, then error file) of a terminal batch. */
export async function* batchResultLines(provider: ProviderName | null, batchId: string, options: ClientOptions = {}): AsyncGenerator<ResultLine> {
  const batch = provider === null ? await loadBatch(batchId, options) : await retrieveBatch(provider, batchId, options);
  const files = batch.anybatch.results;
  if (batch.status === 'failed') {
    const where = files ? ` Every request is in ${files.errors_path}.` : '';
    throw new BatchFailedError(batchId, `Batch ${batchId} failed: ${batch.anybatch.failure ?? batch.errors?.data?.[0]?.message ?? 'the provider failed it'}.${where}`, batch);
  }
  if (!isTerminal(batch.status) || !files) throw new BatchNotCompleteError(batchId, batch.status);
  for (const file of [files.output_path, files.errors_path]) {
    yield* readJsonLines<ResultLine>(fs.createReadStream(file, { highWaterMark: 1 << 20 }), { source: file });
  }
}

export interface ResultsOptions<E extends Endpoint = Endpoint> extends ClientOptions {
  /**
   * The batch's endpoint: types each item's `result` as that endpoint's response body (`EndpointResult[E]`).
   * Checked against the batch: a `UsageError` when it differs.
   */
  endpoint?: E;
}

/**
 * Streams every request's outcome of a terminal batch, as `BatchResultItem`s (typed by `options.endpoint`).
 * `provider` null: the id alone names the batch.
 */
export async function* iterateBatchResults<P extends ProviderName | null, E extends EndpointOf<P> = EndpointOf<P>>(
  provider: P,
  batchId: string,
  options: ResultsOptions<E> = {},
): AsyncGenerator<BatchResultItem<E>> {
  const { endpoint, ...clientOptions } = options;
  if (provider !== null) checkProvider(provider);
  let check: ((item: BatchResultItem<E>) => void) | null = null;
  if (endpoint !== undefined) {
    if (!isEndpoint(endpoint)) throw new UsageError(`endpoint ${JSON.stringify(endpoint)} is not an endpoint anybatch knows; known: ${ENDPOINTS.join(', ')}.`);
    check = resultsEndpointCheck(provider === null ? await loadBatch(batchId, clientOptions) : await retrieveBatch(provider, batchId, clientOptions), endpoint);
  }
  for await (const line of batchResultLines(provider, batchId, clientOptions)) {
    const item = toItem<E>(line);
    check?.(item);
    yield item;
  }
}

/** Every request's outcome of a terminal batch (typed by `options.endpoint`). Throws `BatchNotCompleteError` before then. */
export async function retrieveBatchResults<P extends ProviderName | null, E extends EndpointOf<P> = EndpointOf<P>>(
  provider: P,
  batchId: string,
  options: ResultsOptions<E> = {},
): Promise<BatchResult<E>> {
  const results: BatchResultItem<E>[] = [];
  for await (const item of iterateBatchResults<P, E>(provider, batchId, options)) results.push(item);
  return { results };
}
