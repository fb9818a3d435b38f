/**
 * Activity implementations: every side effect of a batch workflow. Provider details stay behind the
 * adapter; failures are classified here (src/activities/failures.ts) so the workflow retries what is
 * transient, within the batch's retry bound, and fails fast on the rest.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Batch, BatchResultFiles } from '../contract/batch';
import { withCost } from '../cost';
import { ADMISSION_ENV, tokenBudgetApplies } from '../admission/settings';
import { getAdapter } from '../providers';
import type { PreparedInput, ProviderConnection, ProviderInput, ResultLine } from '../providers/types';
import { mergeResults, missingOutcome, writePartResults } from '../results/writer';
import { bindingOf, unseal } from '../secrets';
import type { Credentials } from '../secrets';
import { apiBaseRefusal } from '../providers/allowed-bases';
import { preparedOf } from '../contract/prepared';
import type { BatchSpec, PartPlan, PartResults } from '../contract/spec';
import { RESULTS_RETRY_TIMEOUT_MS, boundedStep, classifyFailure, submitRetryTimeoutMs } from './failures';
import { failureReason, partFailureKind, statedMaxRequests } from '../providers/batch-failures';
import { repartition } from './repartition';
import { planRetryRound } from './retry';
import { createAdmissionActivities } from './admission';
import { activityOnlineHost, createOnlineActivities } from './online';
import { createJobActivities } from './wait';
import { WorkerFiles } from '../storage/worker-files';
import type { WorkerFilesOptions } from '../storage/worker-files';
import type { PartFiles } from '../storage/batch-files';
import { splitLimits, type SplitLimits } from '../results/split';
import type { BatchActivities, JobActivities, RecoveryActivities } from '../contract/activities';
import type { RecoverablePart, RecoveryReport } from '../contract/recovery';
import { recordRecoverable } from '../results/recovery';
import { recoverResults } from './recover';
import { measuredCall, recordMerged } from './metrics';
import { deliverWebhook } from './webhooks';

/** Provider searches for an earlier upload/batch look this far before the batch's creation (clock skew). */
const KEY_SEARCH_SLACK_SECONDS = 3600;
const HEARTBEAT_MS = 5_000;

/** The batch's own credentials, opened only for the batch they were sealed for (src/secrets.ts). */
function credentials(spec: BatchSpec): Credentials | undefined {
  return spec.connection.sealed ? unseal(spec.connection.sealed, bindingOf(spec)) : undefined;
}

/**
 * Refuses, before any call, a batch that would send the worker's own provider key to a base URL the operator did
 * not allow (src/providers/allowed-bases.ts): a batch without an apiKey of its own goes only to the provider's base
 * URL or one in ANYBATCH_ALLOWED_API_BASES.
 */
export function checkApiBase(spec: Pick<BatchSpec, 'provider' | 'connection'>, creds: Credentials | undefined): void {
  const refusal = apiBaseRefusal(spec.provider, spec.connection.apiBase, typeof creds?.apiKey === 'string' && creds.apiKey !== '');
  if (refusal) throw ApplicationFailure.create({ type: 'api_base_not_allowed', nonRetryable: true, message: refusal });
}

/** The adapters log through the activity's logger and run online batches through the activity's client. */
function connection(spec: BatchSpec, creds: Credentials | undefined): ProviderConnection {
  checkApiBase(spec, creds);
  return {
    apiKey: creds?.apiKey,
    clientArgs: creds?.clientArgs,
    apiBase: spec.connection.apiBase ?? undefined,
    options: spec.providerOptions,
    log: { warn: (message, attrs) => log.warn(message, attrs) },
    online: activityOnlineHost,
  };
}

/** Keeps a long call visibly alive, so a dead worker is noticed fast (local activities cannot heartbeat). */
async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  if (ctx.info.isLocal) return fn();
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}

/** Runs a provider call with heartbeats; a failure is classified with the secrets redacted from its message. */
async function providerCall<T>(spec: BatchSpec, fn: (conn: ProviderConnection) => Promise<T>, place?: string): Promise<T> {
  let creds: Credentials | undefined;
  try {
    creds = credentials(spec);
    const open = creds;
    return await measuredCall(spec.provider, () => heartbeating(() => fn(connection(spec, open))), (err) => classifyFailure(err, open, place).type ?? 'error');
  } catch (err) {
    throw classifyFailure(err, creds, place);
  }
}

/** How a part looks to a provider adapter: local paths (the batch's files give them: src/storage/batch-files.ts). */
function providerInput(spec: BatchSpec, part: PartPlan, files: PartFiles): ProviderInput {
  return {
    ...part,
    path: files.path,
    // A part that is a byte range of the staged input is read in place, and goes by its part's own name.
    ...(files.range !== undefined ? { offset: files.range.offset, name: `part-${part.index}.jsonl` } : {}),
    // A part in a remote store is streamed from it.
    ...(files.read !== undefined ? { read: files.read } : {}),
    ...(files.name !== undefined ? { name: files.name } : {}),
    idempotencyKey: `${spec.batchId}/${part.index}`,
    notBefore: spec.createdAt - KEY_SEARCH_SLACK_SECONDS,
    endpoint: spec.endpoint,
    options: spec.providerOptions,
    workDir: files.workDir,
    persist: files.persist,
    origin: { spec, part },
  };
}

async function* noIds(): AsyncGenerator<string> {}

/** What one part may hold: the provider's limits, lowered by the batch's own, measured the way the provider sends. */
function partLimits(spec: BatchSpec): SplitLimits {
  return splitLimits(getAdapter(spec.provider), spec);
}

/**
 * Writes one part's results: the provider's output and error lines, then an error line for every request the provider
 * did not report. With `outcome`, the provider is not asked: every request gets that error.
 */
async function writeResults(storage: WorkerFiles, spec: BatchSpec, part: PartPlan, batch: Batch | null, outcome: { code: string; message: string } | null): Promise<PartResults> {
    const staged = storage.forBatch(spec);
    const fromProvider = outcome === null && batch !== null;
    const ids = await staged.partIds(part);
    const target = staged.results;
    const write = (lines: AsyncIterable<ResultLine> | null) =>
      writePartResults({
        batchId: spec.batchId,
        ...(typeof target === 'string' ? { resultsDir: target } : { store: target }),
        part,
        ids: ids ?? noIds(),
        lines,
        outcome: outcome ?? missingOutcome(batch!),
        warn: (message) => log.warn(message, { batchId: spec.batchId }),
      });
    if (ids === null) {
      log.error('the staged input and its request ids are both gone: its requests cannot be listed in errors.jsonl', {
        batchId: spec.batchId,
        part: part.index,
        input: part.path,
        ids: staged.idsPlace,
      });
    }
    // With an outcome for every request the provider is not asked, so no credentials are needed.
    if (!fromProvider) return heartbeating(() => write(null));
    return providerCall(
      spec,
      (conn) => staged.withPart(part, {}, (files) => write(getAdapter(spec.provider).readResults(conn, batch!, providerInput(spec, part, files)))),
      staged.resultsPlace,
    );
}

/**
 * The activities, reading and writing the batch's staged data through its files (src/storage/batch-files.ts, in the
 * worker's blob store: ANYBATCH_STORAGE, else the local folder ANYBATCH_HOME; `opts` gives another store, for tests
 * and embedding).
 */
export function createActivities(opts: WorkerFilesOptions = {}): BatchActivities & JobActivities & RecoveryActivities {
  const storage = new WorkerFiles(opts);
  return {
    ...createOnlineActivities(opts),
    ...createAdmissionActivities(),
    async planParts(spec: BatchSpec): Promise<PartPlan[]> {
      return boundedStep(spec, 'plan', submitRetryTimeoutMs(spec), async () => {
        const staged = storage.forBatch(spec);
        // Token estimates only where a budget of enqueued tokens will use them: counting costs as much as the split.
        const estimate = tokenBudgetApplies(spec.provider, getAdapter(spec.provider).capabilities.admission, spec.admission, process.env[ADMISSION_ENV]);
        const parts = await heartbeating(() => staged.plan({ ...partLimits(spec), requestCount: spec.input.requestCount }, estimate));
        let first = 0;
        return parts.map((p) => {
          const plan = { ...p, firstRequest: first };
          first += p.requestCount;
          return plan;
        });
      }, spec.input.path);
    },

    async uploadPart(spec: BatchSpec, part: PartPlan): Promise<PreparedInput> {
      return boundedStep(spec, 'upload', submitRetryTimeoutMs(spec), async () => {
        const staged = storage.forBatch(spec);
        return providerCall(
          spec,
          (conn) => staged.withPart(part, { input: true }, (files) => getAdapter(spec.provider).prepareInput(conn, providerInput(spec, part, files))),
          part.path,
        );
      }, part.path);
    },

    async createPartBatch(spec: BatchSpec, part: PartPlan, prepared: PreparedInput | string | null): Promise<Batch> {
      return boundedStep(spec, 'create', submitRetryTimeoutMs(spec), async () => {
        const staged = storage.forBatch(spec);
        return providerCall(spec, (conn) =>
          staged.withPart(part, {}, (files) =>
            getAdapter(spec.provider).createBatch(conn, {
              input: providerInput(spec, part, files),
              prepared: preparedOf(typeof prepared === 'string' || prepared === null ? { fileId: prepared } : prepared),
              endpoint: spec.endpoint,
              completionWindow: spec.completionWindow,
              metadata: spec.metadata,
            }),
          ),
        );
      });
    },

    async retrieveProviderBatch(spec: BatchSpec, providerBatchId: string): Promise<Batch> {
      // A local activity: the workflow counts failed polls and bounds them.
      return boundedStep(spec, 'poll', Infinity, () => providerCall(spec, (conn) => getAdapter(spec.provider).retrieveBatch(conn, providerBatchId)));
    },

    async cancelProviderBatch(spec: BatchSpec, providerBatchId: string): Promise<Batch> {
      return boundedStep(spec, 'cancel', submitRetryTimeoutMs(spec), () =>
        providerCall(spec, (conn) => getAdapter(spec.provider).cancelBatch(conn, providerBatchId)),
      );
    },

    async downloadPartResults(spec, part, batch, outcome): Promise<PartResults> {
      return boundedStep(spec, 'download', RESULTS_RETRY_TIMEOUT_MS, () => writeResults(storage, spec, part, batch, outcome), spec.resultsDir);
    },

    async classifyPartFailure(spec, batch, error) {
      const failure = { batch, error };
      return { kind: partFailureKind(spec.provider, failure), reason: failureReason(failure), maxRequests: statedMaxRequests(failure) };
    },

    async repartitionPart(spec, part, firstIndex, maxRequests): Promise<PartPlan[]> {
      return boundedStep(spec, 'plan', submitRetryTimeoutMs(spec), () =>
        heartbeating(() => repartition(storage.forBatch(spec), part, firstIndex, maxRequests, partLimits(spec))),
      part.path);
    },

    async planRetryRound(spec, round): Promise<PartPlan[]> {
      return boundedStep(spec, 'retry', RESULTS_RETRY_TIMEOUT_MS, () =>
        heartbeating(() => planRetryRound(storage.forBatch(spec), round, spec.retryFailed?.codes ?? [], partLimits(spec))),
      spec.input.path);
    },

    async mergeResults(spec: BatchSpec, parts: PartResults[], superseded?: number[], recoverable?: RecoverablePart[]): Promise<BatchResultFiles> {
      return boundedStep(spec, 'merge', RESULTS_RETRY_TIMEOUT_MS, () =>
        heartbeating(async () => {
          const staged = storage.forBatch(spec);
          const dropped = superseded && superseded.length > 0 && spec.retryFailed ? { codes: spec.retryFailed.codes, parts: superseded } : undefined;
          // Given-up parts are recorded before the merge, so a recovery finds them whatever happens next.
          const keep = recoverable !== undefined && recoverable.length > 0;
          if (keep) await recordRecoverable(staged.resultsStore, spec.batchId, recoverable);
          const files = staged.withUris(await mergeResults(staged.results, parts, dropped));
          if (keep) log.warn('parts were given up: the staged input is kept until `anybatch recover` or `anybatch delete`', { batchId: spec.batchId, parts: recoverable.length });
          // The merged files exist: the staged inputs and this worker's scratch can go (never before).
          for (const problem of await staged.cleanUp(process.env, { keepInputs: keep })) log.warn(problem, { batchId: spec.batchId });
          // What the results cost, from the parts' usage at the provider's batch prices (src/cost).
          const merged = withCost(files, spec.provider, parts);
          recordMerged(spec.provider, merged);
          return merged;
        }),
      spec.resultsDir);
    },

    ...createJobActivities({
      retrieve: (spec, providerBatchId) => providerCall(spec, (conn) => getAdapter(spec.provider).retrieveBatch(conn, providerBatchId)),
      download: (spec, part, batch) => boundedStep(spec, 'download', RESULTS_RETRY_TIMEOUT_MS, () => writeResults(storage, spec, part, batch, null), spec.resultsDir),
    }),

    deliverWebhook: (spec, batch) => heartbeating(() => deliverWebhook(spec, batch)),

    async recoverResults(spec: BatchSpec): Promise<RecoveryReport> {
      return heartbeating(() =>
        recoverResults(spec, storage.forBatch(spec), {
          retrieve: (providerBatchId) => providerCall(spec, (conn) => getAdapter(spec.provider).retrieveBatch(conn, providerBatchId)),
          write: (part, batch, ids, target) => {
            const staged = storage.forBatch(spec);
            return providerCall(
              spec,
              (conn) =>
                staged.withPart(part, {}, (files) =>
                  writePartResults({
                    batchId: spec.batchId,
                    store: target,
                    part,
                    ids,
                    lines: getAdapter(spec.provider).readResults(conn, batch, providerInput(spec, part, files)),
                    outcome: missingOutcome(batch),
                  }),
                ),
              staged.resultsPlace,
            );
          },
          log,
        }),
      );
    },

    async requestWorkflowCancellation(batchId: string): Promise<void> {
      await Context.current().client.workflow.getHandle(batchId).cancel();
    },
  };
}
