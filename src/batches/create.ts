/**
 * Creating a batch: validate and stage the input, start its workflow, and wait until the provider accepted it.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { AnybatchBatch } from '../contract/batch';
import { isTerminal } from '../contract/batch';
import { anybatchHome, clientStore, taskQueue } from '../config';
import { BatchFailedError, UsageError } from '../errors';
import { checkStore, localRootOf } from '../storage';
import type { BlobStore } from '../storage';
import { deleteStaged } from '../storage/batch-data';
import { layout, newStagedKeys, resultsDirProblem } from '../storage/layout';
import type { StorageRef } from '../storage/layout';
import { checkIdFree } from '../batches/reuse';
import { getAdapter } from '../providers';
import { BATCH_CREATED_AT, BATCH_PROVIDER, BATCH_STATUS, BATCH_TOTAL } from '../contract/search-attributes';
import { seal } from '../secrets';
import { apiBaseRefusal } from '../providers/allowed-bases';
import { temporalClient } from '../temporal/client';
import { checkProvider, parseCreateOptions } from '../options';
import type { CreateBatchOptions, ProviderName } from '../options';
import type { EndpointOf } from '../results/types';
import { validateInputFile } from '../validation';
import { splitLimits } from '../results/split';
import { encodeInputPlan, planUsable } from '../storage/input-plan';
import { staticDetails, staticSummary } from '../workflows/details';
import { initialJobState, jobView } from '../workflows/job/view';
import { loadBatch } from '../batches/read';
import { BATCH_WORKFLOW_TYPE, BATCH_WORKFLOW_TYPES, MEMO_BATCH, submittedUpdate } from '../contract/messages';
import type { BatchSpec } from '../contract/spec';
import type { BatchJobInput } from '../contract/part';


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
    checked = checkStore(store, { probe: localRootOf(store) === null });
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
  const localRoot = localRootOf(store);
  if (options.resultsDir !== undefined && localRoot === null) {
    throw new UsageError(
      `resultsDir cannot be used with the ${store.describe()} (ANYBATCH_STORAGE): results live in the store, at ${store.rootUri()}${layout.results(batchId)}. ` +
        'Read them with retrieveBatchResults / iterateBatchResults, or `anybatch results ID` (--out DIR copies the files into a folder).',
    );
  }
  // A caller's own results folder: absolute, outside the store and ANYBATCH_HOME (the worker checks it again).
  const resultsDir = localRoot !== null ? path.resolve(options.resultsDir ?? path.join(localRoot, 'results', batchId)) : `${store.rootUri()}${layout.results(batchId)}`;
  if (localRoot !== null && options.resultsDir !== undefined) {
    const problem = resultsDirProblem(resultsDir, batchId, { storeRoot: localRoot, home: anybatchHome() });
    if (problem) throw new UsageError(`resultsDir cannot be used: ${problem}.`);
  }
  await ensureStoreUsable(store);
  // A chosen id must be free: its earlier batch, if any, deleted (src/batches/reuse.ts). A generated one is new.
  const reusePolicy = options.batchId !== undefined ? await checkIdFree(await temporalClient(options.temporal), store, batchId) : WorkflowIdReusePolicy.REJECT_DUPLICATE;
  // A run folder of its own: nothing an earlier run of the id left is ever read for this one.
  const keys = newStagedKeys(batchId);
  const ref: StorageRef = { uri: store.rootUri(), inputKey: keys.input, resultsPrefix: options.resultsDir !== undefined ? null : layout.results(batchId) };
  const checkRequest = adapter.checkRequest?.bind(adapter);
  // The parts the worker will submit, cut while the input is checked and staged: the worker plans from them without
  // reading the input, and uploads each part as a byte range of the staged copy (src/storage/input-plan.ts).
  const limits = splitLimits(adapter, { endpoint, providerOptions, maxRequestsPerPart, maxBytesPerPart });
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
      cutParts: limits,
    },
    { stageInto: { store, inputKey: keys.input, idsKey: keys.ids } },
  ).catch(async (err: unknown) => {
    await unstage(); // the run folder the staging made (its files are removed by the validation itself)
    throw err;
  });
  const staged = input.stagedPath!;
  if (input.parts !== null && planUsable(limits, input.parts)) {
    try {
      await store.put(keys.plan!, encodeInputPlan(limits, input.parts, input), { contentType: 'application/json' });
    } catch (err) {
      await unstage();
      throw err;
    }
  }
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
    ...(options.webhook !== undefined ? { webhook: options.webhook } : {}),
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
      staticDetails: staticDetails(spec, localRoot !== null ? path.resolve(inputFilePath) : staged),
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
