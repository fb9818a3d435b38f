/**
 * The public batch API, following any-llm's: createBatch, retrieveBatch, cancelBatch, listBatches,
 * retrieveBatchResults (and a streaming iterator). Each batch is a Temporal workflow whose id is the batch id.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { AnybatchBatch } from './contract/batch';
import { isTerminal } from './contract/batch';
import { anybatchHome, clientStore, taskQueue } from './config';
import { BatchFailedError, BatchNotCompleteError, UsageError } from './errors';
import { BlobNotFoundError, LocalBlobStore, StorageError, checkStore } from './storage';
import type { BlobStore } from './storage';
import { deleteStaged } from './storage/batch-data';
import { batchIdProblem } from './storage/keys';
import { layout, namesFlatInput, newStagedKeys, resultsDirProblem } from './storage/layout';
import type { StorageRef } from './storage/layout';
import { checkIdFree } from './batches/reuse';
import { getAdapter } from './providers';
import type { ResultLine } from './providers/types';
import { readJsonLines } from './results/jsonl';
import { BATCH_CREATED_AT, BATCH_PROVIDER, BATCH_STATUS, BATCH_TOTAL } from './contract/search-attributes';
import { seal } from './secrets';
import { apiBaseRefusal } from './providers/allowed-bases';
import { temporalClient } from './temporal/client';
import { checkProvider, parseCreateOptions } from './options';
import type { ClientOptions, CreateBatchOptions, ProviderName } from './options';
import { ENDPOINTS, isEndpoint, resultsEndpointCheck } from './results/types';
import type { BatchResult, BatchResultItem, Endpoint, EndpointOf, EndpointResult } from './results/types';
import { validateInputFile } from './validation';
import { staticDetails, staticSummary } from './workflows/details';
import { initialJobState, jobView } from './workflows/job/view';
import { fromMemo, loadBatch, retrieveBatch, withClosedStatus } from './batches/read';
import { BATCH_WORKFLOW_TYPE, BATCH_WORKFLOW_TYPES, MEMO_BATCH, submittedUpdate } from './contract/messages';
import type { BatchSpec } from './contract/spec';
import type { BatchJobInput } from './contract/part';

export type { ClientOptions, CreateBatchOptions } from './options';
export { loadBatch, retrieveBatch } from './batches/read';
export { recoverBatch } from './batches/recover';
export type { RecoverBatchOptions } from './batches/recover';
/** The dry run: what `createBatch` would send and what it would cost, with nothing started (src/cost/plan.ts). */
export { planBatch } from './cost/plan';
export type { BatchPlan, PlanBatchOptions, PlannedPart } from './cost/plan';
export type { BatchResult, BatchResultItem } from './results/types';

export function newBatchId(now = Date.now()): string {
  return `ab_${now.toString(36).padStart(9, '0')}${crypto.randomBytes(8).toString('hex')}`;
}

/** Stores already checked by this process (a failed check is forgotten, so a fixed setting is checked again). */
const checkedStores = new WeakMap<BlobStore, Promise<void>>();

/**
 * Checks the store once per process before the first batch is staged in it, so that an unreachable endpoint, a
 * missing bucket or refused credentials are a clear `StorageError` at `createBatch`, never a batch that hangs. A
 * local folder is only checked to be writable (no probe object: its layout stays as it was).
 */
function ensureStoreUsable(store: BlobStore): Promise<void> {
  let checked = checkedStores.get(store);
  if (!checked) {
    checked = checkStore(store, { probe: store.kind !== 'local' });
    checkedStores.set(store, checked);
    checked.catch(() => checkedStores.delete(store));
  }
  return checked;
}

/**
 * Validates the input, stages it for the worker, starts the batch workflow and resolves once the provider
 * accepted the batch. Invalid input throws `InputValidationError` before anything starts.
 *
 * The input is staged in the blob store (`ANYBATCH_STORAGE`; unset: the local folder ANYBATCH_HOME) while it is
 * validated: `inputs/<id>/<run>/input.jsonl` and its ids, in a run folder of its own (src/storage/layout.ts). The store
 * is checked before the first batch of the process, so an unusable one (bad ANYBATCH_STORAGE, unreachable endpoint,
 * missing bucket, refused credentials) throws a `StorageError` saying what is wrong. `resultsDir` works with a local
 * folder store only, and must be outside the store and ANYBATCH_HOME (`UsageError` otherwise). A chosen `batchId` is
 * checked (src/storage/keys.ts) and must be free: an earlier batch with that id must be deleted first
 * (src/batches/reuse.ts).
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
  // The worker's own key goes only to the provider's base URL or an allowed one (as far as this process can tell:
  // its ANYBATCH_ALLOWED_API_BASES; the worker checks again with its own).
  const refusal = apiBaseRefusal(provider, options.apiBase, options.apiKey !== undefined);
  if (refusal) throw new UsageError(refusal);

  // A malformed ANYBATCH_STORAGE is a StorageError now; an unusable store (endpoint, bucket, credentials) below.
  const store = clientStore();
  const local = store instanceof LocalBlobStore ? store : null;
  if (options.resultsDir !== undefined && !local) {
    throw new UsageError(
      `resultsDir cannot be used with the ${store.describe()} (ANYBATCH_STORAGE): results live in the store, at ${store.rootUri()}${layout.results(batchId)}. ` +
        'Read them with retrieveBatchResults / iterateBatchResults, or `anybatch results ID` (--out DIR copies the files into a folder).',
    );
  }
  // A caller's own results folder: absolute, outside the store and ANYBATCH_HOME (the worker checks it again).
  const resultsDir = local ? path.resolve(options.resultsDir ?? path.join(local.root, 'results', batchId)) : `${store.rootUri()}${layout.results(batchId)}`;
  if (local && options.resultsDir !== undefined) {
    const problem = resultsDirProblem(resultsDir, batchId, { storeRoot: local.root, home: anybatchHome() });
    if (problem) throw new UsageError(`resultsDir cannot be used: ${problem}.`);
  }
  await ensureStoreUsable(store);
  // A chosen id must be free: its earlier batch, if any, deleted (src/batches/reuse.ts). A generated one is new.
  const reusePolicy = options.batchId !== undefined ? await checkIdFree(await temporalClient(options.temporal), store, batchId) : WorkflowIdReusePolicy.REJECT_DUPLICATE;
  // A run folder of its own: nothing an earlier run of the id left is ever read for this one.
  const keys = newStagedKeys(batchId);
  const ref: StorageRef = { uri: store.rootUri(), inputKey: keys.input, resultsPrefix: options.resultsDir !== undefined ? null : layout.results(batchId) };
  const checkRequest = adapter.checkRequest?.bind(adapter);
  // Only this run's folder: a concurrent createBatch of the same id has its own.
  const unstage = () => deleteStaged(store, batchId, keys).catch(() => undefined);
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
    { stageInto: { store, inputKey: keys.input, idsKey: keys.ids } },
  ).catch(async (err: unknown) => {
    await unstage(); // the run folder the staging made (its files are removed by the validation itself)
    throw err;
  });
  const staged = input.stagedPath!;
  // Sealed for this batch only: its id, provider and base URL are the associated data (src/secrets.ts).
  const credentials =
    options.apiKey !== undefined || options.clientArgs !== undefined
      ? seal({ apiKey: options.apiKey, clientArgs: options.clientArgs }, { batchId, provider, apiBase: options.apiBase ?? null })
      : null;
  const createdAt = Math.floor(Date.now() / 1000);
  const spec: BatchSpec = {
    batchId,
    provider,
    endpoint,
    completionWindow,
    metadata,
    createdAt,
    input: { path: staged, requestCount: input.requestCount, bytes: input.bytes, model: input.models.length === 1 ? input.models[0] : null },
    // Local: the results folder, as before. Another store: the results' prefix URI, for display only (the worker writes by key).
    resultsDir,
    storage: ref,
    pollIntervalMs,
    connection: { apiBase: options.apiBase ?? null, sealed: credentials },
    maxRequestsPerPart,
    maxBytesPerPart,
    submitConcurrency,
    ...(options.retryTimeoutMs !== undefined ? { retryTimeoutMs: options.retryTimeoutMs } : {}),
    ...(options.retryFailed !== undefined ? { retryFailed: options.retryFailed } : {}),
    ...(options.queueLimitRetry !== undefined ? { queueLimitRetry: options.queueLimitRetry } : {}),
    ...(options.bounds ?? {}),
    ...(options.admission !== undefined ? { admission: options.admission } : {}),
    providerOptions,
    searchAttributes: options.searchAttributes,
    warnings: input.warnings,
  };
  const initial = jobView(spec, initialJobState());

  let handle: WorkflowHandle;
  try {
    const client = await temporalClient(options.temporal);
    handle = await client.workflow.start(workflowTypeToStart(), {
      workflowId: batchId,
      // Never joins or replaces another batch's workflow: see src/batches/reuse.ts.
      workflowIdReusePolicy: reusePolicy,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      taskQueue: options.taskQueue ?? taskQueue(),
      args: [{ spec } satisfies BatchJobInput],
      memo: { [MEMO_BATCH]: initial },
      // What the Web UI's list and the batch's page show with no set-up.
      staticSummary: staticSummary(spec),
      staticDetails: staticDetails(spec, local ? path.resolve(inputFilePath) : staged),
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
    await unstage();
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new UsageError(`batchId "${batchId}" is taken: a workflow with that id started meanwhile (another createBatch of the same id?). Choose another id, or delete that batch first (anybatch delete ${batchId}).`);
    }
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

/**
 * The workflow type new batches start: the job workflow, unless `ANYBATCH_WORKFLOW_TYPE` names the frozen first one
 * (`batchWorkflow`), for benchmarks and tests that compare the two or start batches on the old code.
 */
function workflowTypeToStart(): string {
  const chosen = process.env.ANYBATCH_WORKFLOW_TYPE;
  if (!chosen) return BATCH_WORKFLOW_TYPE;
  if (!BATCH_WORKFLOW_TYPES.includes(chosen)) throw new UsageError(`ANYBATCH_WORKFLOW_TYPE=${chosen} is not a batch workflow type (one of ${BATCH_WORKFLOW_TYPES.join(', ')}).`);
  return chosen;
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
  let query = `WorkflowType IN (${BATCH_WORKFLOW_TYPES.map((t) => `'${t}'`).join(', ')}) AND ExecutionStatus != 'ContinuedAsNew'`;
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
  yield* resultLinesOf(batch);
}

/** Every result line (output file, then error file) of a batch whose results are written, read where they are. */
export async function* resultLinesOf(batch: AnybatchBatch): AsyncGenerator<ResultLine> {
  for (const which of ['output', 'errors'] as const) {
    const file = await openResultFile(batch, which);
    yield* readJsonLines<ResultLine>(file.stream, { source: file.source });
  }
}

export interface ResultFile {
  /** The file's bytes. */
  stream: Readable;
  /** Where it is (a URI, or a path for batches finished before the blob store), for messages. */
  source: string;
  /** Its file name: `output.jsonl` or `errors.jsonl`. */
  name: string;
}

/**
 * Opens one merged results file of a finished batch. A batch with result URIs (`output_uri`, `errors_uri`) is read
 * through this client's store (`ANYBATCH_STORAGE`), streamed, so a service on another host than the worker gets
 * its results; a `file://` URI outside the store (a caller's own `resultsDir`) and the paths of batches finished
 * before the blob store are read from this host's disk. A URI in another store is a `StorageError` naming both.
 */
export async function openResultFile(batch: AnybatchBatch, which: 'output' | 'errors'): Promise<ResultFile> {
  const files = batch.anybatch.results;
  if (!files) throw new BatchNotCompleteError(batch.id, batch.status);
  const uri = which === 'output' ? files.output_uri : files.errors_uri;
  const file = which === 'output' ? files.output_path : files.errors_path;
  if (!uri) return { stream: await openLocalResult(batch.id, file, file), source: file, name: path.basename(file) };
  const where = locate(uri);
  if (where.kind === 'store') {
    try {
      return { stream: await where.store.get(where.key), source: uri, name: path.posix.basename(where.key) };
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw resultsGone(batch.id, uri, err.key, err);
      throw err;
    }
  }
  if (where.kind === 'file') return { stream: await openLocalResult(batch.id, where.path, uri), source: uri, name: path.basename(where.path) };
  throw foreignStore(batch.id, 'results', uri, where.store, storeGuess(uri, layout.output(layout.results(batch.id)), layout.errors(layout.results(batch.id))));
}

async function openLocalResult(batchId: string, file: string, shown: string): Promise<Readable> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw resultsGone(batchId, shown, file, err);
    throw err;
  }
  return handle.createReadStream({ highWaterMark: 1 << 20 });
}

function resultsGone(batchId: string, where: string, key: string, cause: unknown): BlobNotFoundError {
  const err = new BlobNotFoundError(key, where, { cause });
  err.message =
    `The results of batch ${batchId} are not at ${where}: they were deleted (anybatch delete, or a lifecycle rule of the bucket), ` +
    `or they are on the disk of another host (then share a store: ANYBATCH_STORAGE=s3://bucket/prefix on the client and the worker).`;
  return err;
}

/** Where a URI written by a worker is, seen from this client. */
type Located = { kind: 'store'; store: BlobStore; key: string } | { kind: 'file'; path: string } | { kind: 'foreign'; store: BlobStore };

function locate(uri: string): Located {
  const store = clientStore();
  const root = store.rootUri();
  if (uri.startsWith(root) && uri.length > root.length) {
    const rest = uri.slice(root.length);
    // A file URI is percent-encoded; an s3 URI holds the key as it is.
    return { kind: 'store', store, key: uri.startsWith('file:') ? decodeURIComponent(rest) : rest };
  }
  if (/^file:/i.test(uri)) return { kind: 'file', path: fileURLToPath(uri) };
  return { kind: 'foreign', store };
}

/** The store a URI of one of the `keys` belongs to, as an ANYBATCH_STORAGE value (`s3://bucket/prefix`), when it can be told. */
function storeGuess(uri: string, ...keys: string[]): string | null {
  for (const key of keys) if (uri.endsWith(`/${key}`)) return uri.slice(0, -key.length).replace(/\/+$/, '');
  return null;
}

function foreignStore(batchId: string, what: string, uri: string, store: BlobStore, guess: string | null): StorageError {
  const fix = guess ? `ANYBATCH_STORAGE=${guess}` : 'ANYBATCH_STORAGE';
  return new StorageError(
    'storage_config',
    `${uri} (the ${what} of batch ${batchId}) is not in this client's store (the ${store.describe()}, ${store.rootUri()}). ` +
      `Point the client at the worker's store: set ${fix} (and the same AWS_* settings as the worker).`,
  );
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

export interface DeletedObject {
  /** A path in a local folder, a URI otherwise. */
  location: string;
  bytes: number;
}

export interface DeleteBatchResult {
  id: string;
  /** What was removed, inputs first (empty when there was nothing left, e.g. deleted before). */
  removed: DeletedObject[];
  /** Their total size. */
  bytes: number;
}

/**
 * Removes a finished batch's data from this client's store: its staged inputs (with split parts and adapter state, of
 * every run of its id: `inputs/<id>/`, and `inputs/<id>.jsonl`, `.ids.jsonl`, `.part-<i>.jsonl`, `.work/<i>/` for a
 * batch staged before run folders, matched exactly) and its results (`results/<id>/`, or in a caller's own results
 * folder only the files anybatch writes there). The batch's record in Temporal stays (until the namespace's
 * retention), and its results can no longer be read; its id can be used again (src/batches/reuse.ts). A batch that is
 * not finished is refused with a `UsageError` (cancel it first). `provider` null: the id alone names the batch. To
 * expire results without deleting batches one by one, give the bucket a lifecycle rule instead.
 */
export async function deleteBatch(provider: ProviderName | null, batchId: string, options: ClientOptions = {}): Promise<DeleteBatchResult> {
  const batch = provider === null ? await loadBatch(batchId, options) : await retrieveBatch(provider, batchId, options);
  if (!isTerminal(batch.status)) {
    throw new UsageError(
      `Batch ${batchId} is ${batch.status}: only a finished batch can be deleted. Cancel it first (anybatch cancel ${batchId} --wait), then delete it.`,
    );
  }
  return deleteBatchData(batch);
}

/**
 * Removes the data of `batch` (which the caller found finished); see `deleteBatch`. Deletes only inside this client's
 * store, by the batch's id (checked: src/storage/keys.ts), never at a path its record names: a record whose input or
 * results are elsewhere (another store, another folder, another batch's folder) is refused before anything is deleted
 * (`StorageError` naming the place), except a caller's own results folder (absolute, outside the store and
 * ANYBATCH_HOME), where only `output.jsonl`, `errors.jsonl`, `recovery.json`, `.parts/` and `.recover/` are removed.
 */
export async function deleteBatchData(batch: AnybatchBatch): Promise<DeleteBatchResult> {
  const id = batch.id;
  const idProblem = batchIdProblem(id);
  if (idProblem) throw new UsageError(`${idProblem}.`);
  const store = clientStore();
  const info = batch.anybatch;
  // Where the record says the data is, checked before anything is deleted.
  if (!inStore(store, info.input_path)) throw foreignStore(id, 'staged input', info.input_path, store, storeGuess(info.input_path, layout.input(id)));
  const results = resultsPlace(store, id, info.results_dir);
  const where = (key: string) => (store instanceof LocalBlobStore ? store.pathOf(key) : store.uri(key));
  // Every run folder of the id; the flat layout's keys only for a batch staged so (see src/storage/layout.ts).
  const staged = await deleteStaged(store, id, { every: true, flat: namesFlatInput(id, info.input_path) });
  const removed: DeletedObject[] = staged.map((e) => ({ location: where(e.key), bytes: e.size }));
  if (results === 'store') {
    removed.push(...(await deletePrefix(store, layout.results(id))));
    if (store instanceof LocalBlobStore) await fs.promises.rm(store.pathOf(`results/${id}`), { recursive: true, force: true });
  } else {
    // The caller's own results folder: only what anybatch writes in it.
    const dir = results;
    for (const name of ['output.jsonl', 'errors.jsonl', 'recovery.json']) removed.push(...(await deleteFile(path.join(dir, name))));
    for (const tree of ['.parts', '.recover']) removed.push(...(await deleteTree(path.join(dir, tree))));
    await fs.promises.rmdir(dir).catch(() => undefined); // only if now empty
  }
  return { id, removed, bytes: removed.reduce((n, r) => n + r.bytes, 0) };
}

/** Whether `location` (a path or a URI, as a batch record names it) is inside this client's store. */
function inStore(store: BlobStore, location: string): boolean {
  if (typeof location !== 'string') return false;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    if (location.startsWith(store.rootUri()) && location.length > store.rootUri().length) return true;
    if (!/^file:/i.test(location)) return false;
    location = fileURLToPath(location);
  }
  return store instanceof LocalBlobStore && path.resolve(location).startsWith(store.root + path.sep);
}

/**
 * Where a batch's results are, from the `results_dir` its record names: `store` for its own `results/<id>/` of this
 * client's store, or a caller's own results folder (absolute, outside the store and ANYBATCH_HOME). Anything else
 * (another batch's folder in the store, a relative path, another store) is refused.
 */
function resultsPlace(store: BlobStore, id: string, location: string): 'store' | string {
  const own = layout.results(id);
  if (typeof location === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    if (location.startsWith(store.rootUri())) {
      const key = location.slice(store.rootUri().length);
      if (key === own || key === own.slice(0, -1)) return 'store';
      throw new StorageError('storage_config', `${location} (the results of batch ${id}) is not its own results folder of this client's store (${store.rootUri()}${own}): nothing was deleted.`);
    }
    if (!/^file:/i.test(location)) throw foreignStore(id, 'results', location, store, storeGuess(location, own, own.slice(0, -1)));
    location = fileURLToPath(location);
  }
  if (store instanceof LocalBlobStore && typeof location === 'string' && path.resolve(location) === store.pathOf(own.slice(0, -1))) return 'store';
  const storeRoot = store instanceof LocalBlobStore ? store.root : anybatchHome();
  const problem = resultsDirProblem(location, id, { storeRoot, home: anybatchHome() });
  if (problem) throw new StorageError('storage_config', `The results of batch ${id} cannot be deleted: ${problem}. Nothing was deleted.`);
  return location;
}

async function deletePrefix(store: BlobStore, prefix: string): Promise<DeletedObject[]> {
  const out: DeletedObject[] = [];
  const entries: { key: string; size: number }[] = [];
  for await (const entry of store.list(prefix)) entries.push(entry);
  for (const entry of entries) {
    await store.delete(entry.key);
    out.push({ location: store instanceof LocalBlobStore ? store.pathOf(entry.key) : store.uri(entry.key), bytes: entry.size });
  }
  return out;
}

async function deleteFile(file: string): Promise<DeletedObject[]> {
  try {
    const st = await fs.promises.stat(file);
    if (!st.isFile()) return [];
    await fs.promises.rm(file, { force: true });
    return [{ location: file, bytes: st.size }];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function deleteTree(dir: string): Promise<DeletedObject[]> {
  const out: DeletedObject[] = [];
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return out;
    throw err;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    out.push(...(e.isDirectory() ? await deleteTree(p) : await deleteFile(p)));
  }
  await fs.promises.rm(dir, { recursive: true, force: true });
  return out;
}
