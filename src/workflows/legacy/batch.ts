/**
 * One workflow per batch: plan the parts, upload and create each provider batch, poll until every part
 * is terminal, download and merge the results. Cancel is a signal (or a Temporal cancellation request);
 * status is a query; progress goes to search attributes and to the memo (readable with no worker).
 *
 * Polling is a workflow loop (a short local activity per tick, then a durable timer) rather than one
 * long heartbeating activity, because: the query and the Web UI see every poll's progress; no activity
 * slot is held per batch, so one worker carries thousands of batches; a cancel signal wakes the loop at
 * once; and timers can be skipped by the time-skipping test server. History stays bounded with
 * continue-as-new, carrying the small state across runs.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  allHandlersFinished,
  isCancellation,
  sleep,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  log,
  patched,
  setCurrentDetails,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/workflow';
import type { BatchActivities, PartFailure } from '../../contract/activities';
import type { AnybatchBatch } from '../../contract/batch';
import {
  BATCH_COMPLETED,
  BATCH_COST_USD,
  BATCH_CREATED_AT,
  BATCH_FAILED,
  BATCH_PROVIDER,
  BATCH_PROVIDER_IDS,
  BATCH_STATUS,
  BATCH_TOTAL,
} from '../../contract/search-attributes';
import { boundedBatch } from '../bounded-view';
import { currentDetails } from '../details';
import { BATCH_EXPIRED_FAILURE, BATCH_FAILED_FAILURE, MEMO_BATCH, cancelSignal, statusQuery, submittedUpdate } from '../../contract/messages';
import { preparedOf } from '../../contract/prepared';
import { restoreParts } from './prepared';
import type { PartPlan } from '../../contract/spec';
import type { BatchState, BatchWorkflowInput, PartState } from './shared';
import { batchStatus, buildBatch, lastRound, partEnded, roundOf } from './state';
import { admitted, partAdmission, type PartAdmission } from './part-admission';

/**
 * Batches that started with this patch end their workflow the way the batch ended (failed and expired batches
 * fail it with a typed failure carrying the `Batch`, cancelled ones end as a cancelled workflow) and report a
 * failing status poll in the memo. Histories from before it replay as they ran: they complete.
 */
const OUTCOME_PATCH = 'batch-outcome-v1';
/**
 * Batches with `retryFailed` that started with this patch resubmit, once every part ended, the requests that failed
 * with a retryable error as follow-up parts (a retry round), up to the rounds asked for, and merge each request's
 * final outcome once. Batches from before it never have `retryFailed`.
 */
const RETRY_PATCH = 'retry-failed-v1';
/**
 * Batches that started with this patch submit a part again when the provider refused or failed it for a queue
 * limit (after a backoff: `spec.queueLimitRetry`) or for size (re-split into smaller parts), instead of failing it.
 */
const RESUBMIT_PATCH = 'resubmit-refused-parts-v1';
/**
 * Batches that started with this patch ask admission control (src/workflows/part-admission.ts) before each part's
 * provider batch is created, and give the part's share back as soon as it ended: parts wait, visibly queued, until
 * the budget of their provider connection and model allows them. Histories from before it schedule no such step.
 */
const ADMISSION_PATCH = 'admission-v1';
/** After a queue-limit refusal: the first wait, the longest, and how long a part keeps trying. */
const QUEUE_LIMIT_RETRY = { initialMs: 60_000, maxMs: 30 * 60_000, giveUpAfterMs: 24 * 3600_000 };

/** Continue-as-new well before Temporal's history warnings (10,240 events). */
const MAX_HISTORY_EVENTS = 4_000;
/** Status polls that may fail in a row (each already retried) before the batch is given up. */
const MAX_POLL_FAILURES = 120;
/** Provider batches submitted at once when the input is split (unless the batch says otherwise). */
const SUBMIT_CONCURRENCY = 4;

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 12 };

// Side-effecting calls: they heartbeat while they work, so a dead worker is noticed quickly. Each step bounds its
// own retries in time (the batch's retryTimeout; longer for results), and fails at once on a permanent error.
const provider = proxyActivities<BatchActivities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '30s',
  retry: { ...retry, maximumAttempts: Number.POSITIVE_INFINITY },
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
});
// A status read is short and safe to repeat.
const poll = proxyLocalActivities<BatchActivities>({
  startToCloseTimeout: '2m',
  retry: { ...retry, maximumAttempts: 3 },
});

export async function batchWorkflow(input: BatchWorkflowInput): Promise<AnybatchBatch> {
  const { spec } = input;
  const state: BatchState = input.state ? { ...input.state, parts: restoreParts(input.state.parts) } : {
    parts: [],
    cancelRequested: false,
    results: null,
    failure: null,
    finishedAt: null,
    pollFailures: 0,
  };
  // The batch as recorded is bounded (src/workflows/bounded-view.ts); publishing is decided on the unbounded one.
  const current = () => boundedBatch(buildBatch(spec, state));
  const endsLikeBatch = patched(OUTCOME_PATCH);
  const admitting = patched(ADMISSION_PATCH);

  setHandler(statusQuery, current);
  // Wakes the poll pause early when a cancel needs sending (set while pausing).
  let wake: (() => void) | null = null;
  const requestCancel = () => {
    state.cancelRequested = true;
    if (state.parts.some(needsCancel)) wake?.();
  };
  setHandler(cancelSignal, requestCancel);
  // True while a submit pass runs: its parts' outcomes (a refused create about to be reviewed and resubmitted, a share
  // being released) settle only at its end, so the update answers between passes, never in the middle of one.
  let submitting = false;
  setHandler(submittedUpdate, async () => {
    await condition(() => state.failure !== null || state.results !== null || (!submitting && allSubmitted(state)));
    return current();
  });
  // A cancellation request from Temporal (UI, CLI, cancelBatch) is a graceful cancel: partial results are still delivered.
  let cancelledByTemporal = false;
  CancellationScope.current().cancelRequested.catch(() => {
    cancelledByTemporal = true;
    requestCancel();
  });

  return CancellationScope.nonCancellable(async () => {
    let published = '';
    const publish = () => {
      const raw = buildBatch(spec, state);
      const snapshot = JSON.stringify(raw);
      if (snapshot === published) return;
      published = snapshot;
      const batch = boundedBatch(raw);
      setCurrentDetails(currentDetails(batch));
      upsertMemo({ [MEMO_BATCH]: batch });
      if (!spec.searchAttributes) return;
      upsertSearchAttributes([
        { key: BATCH_STATUS, value: batch.status },
        { key: BATCH_PROVIDER, value: spec.provider },
        { key: BATCH_TOTAL, value: batch.request_counts?.total ?? 0 },
        { key: BATCH_COMPLETED, value: batch.request_counts?.completed ?? 0 },
        { key: BATCH_FAILED, value: batch.request_counts?.failed ?? 0 },
        { key: BATCH_CREATED_AT, value: new Date(spec.createdAt * 1000) },
        { key: BATCH_PROVIDER_IDS, value: raw.anybatch.provider_batches.map((b) => b.id) },
        ...(batch.anybatch.cost?.total != null ? [{ key: BATCH_COST_USD, value: batch.anybatch.cost.total }] : []),
      ]);
    };

    // Told when a part's wait for admission ended: publish, and end the poll pause early so that a granted part goes
    // out at once (or a cancelled one is accounted for).
    const admissionChanged = () => {
      publish();
      if (state.cancelRequested || state.parts.some(admitted)) wake?.();
    };
    const admission = admitting ? partAdmission(spec, state, admissionChanged, describeFailure) : null;

    if (state.parts.length === 0 && state.failure === null) {
      publish();
      await guard(state, async () => {
        const plans = await provider.planParts(spec);
        state.parts = plans.map((p) => ({ ...p, prepared: null, batch: null, cancelSent: false, error: null, results: null }));
      });
    }

    while (state.results === null) {
      submitting = true;
      try {
        await submitPending(spec, state, publish, admission);
      } finally {
        submitting = false;
      }
      await cancelRunning(spec, state);
      publish();

      if (state.failure !== null || state.parts.every(partEnded)) {
        if (spec.retryFailed && state.failure === null && patched(RETRY_PATCH) && (await startRetryRound(spec, state))) continue;
        await finish(spec, state, admission);
        break;
      }
      await pause(spec.pollIntervalMs, () => (state.cancelRequested && state.parts.some(needsCancel)) || state.parts.some(admitted), (w) => (wake = w));
      await refresh(spec, state, endsLikeBatch);
      // As soon as a provider batch ended, its share of the budget goes back (before a refused part is made again).
      await admission?.release(state.parts);
      await resubmitRefused(spec, state);
      publish();

      const info = workflowInfo();
      if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof batchWorkflow>({ spec, state });
      }
    }
    publish();
    const batch = current();
    if (!endsLikeBatch) return batch;
    await condition(allHandlersFinished);
    return endLikeBatch(batch, () => cancelledByTemporal);
  });
}

/**
 * Closes the workflow the way the batch ended, so the Web UI, its Failures filter and `temporal workflow list`
 * agree with `anybatch get`. A cancel that came as a signal asks Temporal to cancel this workflow first (only a
 * workflow that Temporal was asked to cancel can end as cancelled); should that fail, the run completes.
 */
async function endLikeBatch(batch: AnybatchBatch, cancelledByTemporal: () => boolean): Promise<AnybatchBatch> {
  const counts = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const tally = `${counts.completed} of ${counts.total} requests succeeded, ${counts.failed} in errors.jsonl`;
  switch (batch.status) {
    case 'failed':
      throw ApplicationFailure.create({
        type: BATCH_FAILED_FAILURE,
        message: `Batch ${batch.id} failed: ${batch.anybatch.failure ?? batch.errors?.data?.[0]?.message ?? 'the provider failed it'} (${tally})`,
        nonRetryable: true,
        details: [batch],
      });
    case 'expired':
      throw ApplicationFailure.create({
        type: BATCH_EXPIRED_FAILURE,
        message: `Batch ${batch.id} expired before it finished: ${tally}`,
        nonRetryable: true,
        details: [batch],
      });
    case 'cancelled':
      if (!cancelledByTemporal()) {
        try {
          await poll.requestWorkflowCancellation(batch.id);
          await condition(cancelledByTemporal, '1m');
        } catch (err) {
          log.warn('could not end the workflow as cancelled; it completes instead', { error: describeFailure(err).message });
        }
      }
      if (cancelledByTemporal()) throw new CancelledFailure(`Batch ${batch.id} was cancelled: ${tally}`, [batch]);
      return batch;
    default:
      return batch;
  }
}

function planOf(part: PartState): PartPlan {
  const plan: PartPlan = { index: part.index, path: part.path, requestCount: part.requestCount, bytes: part.bytes };
  if (part.firstRequest !== undefined) plan.firstRequest = part.firstRequest;
  return plan;
}

/**
 * Sleeps for one poll interval, or less when `due()` becomes true (a cancel to send). It issues the same
 * commands as `condition(due, ms)` did (one timer, cancelled if woken early), so histories replay unchanged,
 * but it creates no cancellation error and no condition on the common path: with a thousand batches polling,
 * that per-tick work is most of the worker's CPU.
 */
async function pause(ms: number, due: () => boolean, setWake: (wake: (() => void) | null) => void): Promise<void> {
  const scope = new CancellationScope({ cancellable: true });
  const timer = scope.run(() => sleep(ms)).catch((err: unknown) => {
    if (!isCancellation(err)) throw err;
  });
  if (due()) scope.cancel();
  else setWake(() => scope.cancel());
  try {
    await timer;
  } finally {
    setWake(null);
  }
}

/** Every part reached the provider, or ended before (its failure read), or waits for a queue limit or admission to allow it. */
function allSubmitted(state: BatchState): boolean {
  return (
    state.parts.length > 0 &&
    state.parts.every((p) => !p.reviewing && (p.batch !== null || p.error !== null || p.queued !== undefined || p.admitting !== undefined))
  );
}

/** A part waiting after a queue-limit refusal, whose next submission is not due yet. */
function waiting(part: PartState): boolean {
  return part.queued !== undefined && part.queued.untilMs > Date.now();
}

function needsCancel(part: PartState): boolean {
  return part.batch !== null && !part.cancelSent && !partEnded(part);
}

/** Runs an orchestration step; a non-retryable failure (or retries exhausted) fails the batch, not the workflow. */
async function guard(state: BatchState, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (err) {
    state.failure = describeFailure(err);
  }
}

function describeFailure(err: unknown): { code: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { code: cause.type ?? 'provider_error', message: cause.message };
  return { code: 'orchestration_error', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Uploads and creates the parts that have no provider batch yet, a few at a time. With admission control, each part
 * asks first, one by one in index order; those admitted go out, the others wait for their grant (a later pass).
 */
async function submitPending(spec: BatchWorkflowInput['spec'], state: BatchState, publish: () => void, admission: PartAdmission | null): Promise<void> {
  let pending = state.parts.filter((p) => p.batch === null && p.error === null && !waiting(p));
  if (admission) {
    await admission.request(pending);
    pending = pending.filter(admitted);
  }
  const concurrency = spec.submitConcurrency ?? SUBMIT_CONCURRENCY;
  for (let i = 0; i < pending.length && !state.cancelRequested && state.failure === null; i += concurrency) {
    await Promise.all(
      pending.slice(i, i + concurrency).map(async (part) => {
        try {
          const plan = planOf(part);
          if (part.prepared === null) part.prepared = preparedOf(await provider.uploadPart(spec, plan));
          part.batch = await provider.createPartBatch(spec, plan, part.prepared);
        } catch (err) {
          part.error = describeFailure(err);
        }
      }),
    );
    publish();
  }
  // Parts that failed at create (or were cancelled before) give their share back.
  await admission?.release(state.parts);
  await resubmitRefused(spec, state);
  if (state.cancelRequested) {
    for (const part of state.parts) {
      if (part.batch === null && part.error === null) part.error = { code: 'batch_cancelled', message: 'Cancelled before submission.' };
    }
    await admission?.release(state.parts);
  }
  // Nothing reached the provider: the batch failed as a whole (e.g. authentication refused).
  const first = state.parts.find((p) => p.error !== null && p.error.code !== 'batch_cancelled');
  if (first && state.parts.every((p) => p.batch === null) && state.failure === null) state.failure = first.error;
}

/**
 * Parts the provider refused (at create) or failed (its batch `failed`) for a queue limit or for size go out again
 * as new parts, in their place (see RESUBMIT_PATCH): after a queue limit, a copy that waits for its backoff; after a
 * size failure, its requests cut below what the provider said (or in halves). Other failures are final.
 */
async function resubmitRefused(spec: BatchWorkflowInput['spec'], state: BatchState): Promise<void> {
  const refused = state.parts.filter((p) => !p.settled && (p.batch?.status === 'failed' || (p.batch === null && p.error !== null && p.error.code !== 'batch_cancelled')));
  if (refused.length === 0 || state.cancelRequested || state.failure !== null || !patched(RESUBMIT_PATCH)) return;
  // Marked before the first wait and until each is settled or replaced, so that `submittedUpdate` never answers
  // with a refusal about to be undone.
  for (const part of refused) part.reviewing = true;
  for (const part of refused) {
    try {
      await reviewRefused(spec, state, part);
    } finally {
      delete part.reviewing;
    }
  }
}

/** One refused part: replaced by its new part(s), or settled (its failure stands, or the queue-limit bound passed). */
async function reviewRefused(spec: BatchWorkflowInput['spec'], state: BatchState, part: PartState): Promise<void> {
  const backoff = spec.queueLimitRetry ?? QUEUE_LIMIT_RETRY;
  let failure: PartFailure;
  try {
    failure = await poll.classifyPartFailure(spec, part.batch, part.error);
  } catch (err) {
    failure = { kind: null, reason: describeFailure(err).message, maxRequests: null }; // unread: the failure stands
  }
  const now = Date.now();
  const attempts = (part.queued?.attempts ?? 0) + 1;
  const sinceMs = part.queued?.sinceMs ?? now;
  let maxRequests: number | null;
  if (failure.kind === 'queue_limit' && now - sinceMs < backoff.giveUpAfterMs) maxRequests = null;
  else if (failure.kind === 'too_large' && part.requestCount > 1) {
    maxRequests = failure.maxRequests !== null && failure.maxRequests < part.requestCount ? failure.maxRequests : Math.ceil(part.requestCount / 2);
  } else {
    part.settled = true;
    if (failure.kind === 'queue_limit') {
      part.error = {
        code: 'queue_limit',
        message: `The provider refused part ${part.index} for its queue limit ${attempts} times over ${duration(now - sinceMs)} (the bound is ${duration(backoff.giveUpAfterMs)}): ${failure.reason}`,
      };
    }
    return;
  }
  let plans: PartPlan[];
  try {
    plans = await provider.repartitionPart(spec, planOf(part), state.parts.reduce((max, p) => Math.max(max, p.index), -1) + 1, maxRequests);
  } catch (err) {
    log.warn('a refused part could not be made again; it stays failed', { part: part.index, error: describeFailure(err).message });
    part.settled = true;
    return;
  }
  let first = part.firstRequest;
  const replacements: PartState[] = plans.map((plan) => {
    const next: PartState = { ...plan, prepared: null, batch: null, cancelSent: false, error: null, results: null };
    if (first !== undefined) {
      next.firstRequest = first;
      first += plan.requestCount;
    }
    if (part.round !== undefined) next.round = part.round;
    if (maxRequests === null) next.queued = { reason: failure.reason, attempts, sinceMs, untilMs: now + Math.min(backoff.initialMs * 2 ** (attempts - 1), backoff.maxMs) };
    return next;
  });
  log.info(maxRequests === null ? 'part refused for a queue limit: submitted again after a wait' : 'part failed for its size: re-split', {
    batchId: spec.batchId,
    part: part.index,
    parts: replacements.map((p) => p.index),
    reason: failure.reason,
  });
  state.parts.splice(state.parts.indexOf(part), 1, ...replacements);
}

function duration(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

async function cancelRunning(spec: BatchWorkflowInput['spec'], state: BatchState): Promise<void> {
  if (!state.cancelRequested) return;
  await Promise.all(
    state.parts.filter(needsCancel).map(async (part) => {
      try {
        part.batch = await provider.cancelProviderBatch(spec, part.batch!.id);
      } catch (err) {
        log.warn('cancel failed; polling on', { part: part.index, error: describeFailure(err).message });
      }
      part.cancelSent = true;
    }),
  );
}

/** One status poll of every running part. */
async function refresh(spec: BatchWorkflowInput['spec'], state: BatchState, reportErrors: boolean): Promise<void> {
  const running = state.parts.filter((p) => p.batch !== null && !partEnded(p));
  try {
    const batches = await Promise.all(running.map((p) => poll.retrieveProviderBatch(spec, p.batch!.id)));
    running.forEach((p, i) => (p.batch = batches[i]));
    state.pollFailures = 0;
    if (state.pollError) state.pollError = null;
  } catch (err) {
    const failure = describeFailure(err);
    const fatal = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable;
    state.pollFailures += 1;
    if (reportErrors) state.pollError = failure.message;
    log.warn('status poll failed', { batchId: spec.batchId, error: failure.message, consecutive: state.pollFailures });
    if (fatal || state.pollFailures >= MAX_POLL_FAILURES) state.failure = failure;
  }
}

/** Downloads the results of those of `parts` that have none yet. */
async function download(spec: BatchWorkflowInput['spec'], state: BatchState, parts: PartState[]): Promise<void> {
  for (const part of parts) {
    if (part.results !== null) continue;
    const plan = planOf(part);
    const fallback = state.failure ?? part.error ?? { code: 'batch_failed', message: 'The batch failed.' };
    try {
      part.results = await provider.downloadPartResults(spec, plan, part.batch, part.batch !== null && partEnded(part) ? null : fallback);
    } catch (err) {
      // The provider's results could not be read (retries exhausted): account for every request anyway.
      state.failure = describeFailure(err);
      part.results = await provider.downloadPartResults(spec, plan, part.batch, state.failure);
    }
  }
}

/**
 * Once every part ended: downloads the last round's results and, when some of its requests failed with a retryable
 * error and rounds are left, adds their retry round's parts (see RETRY_PATCH). False when there is no round to run.
 */
async function startRetryRound(spec: BatchWorkflowInput['spec'], state: BatchState): Promise<boolean> {
  const round = lastRound(state);
  if (state.cancelRequested || round >= spec.retryFailed!.rounds) return false;
  const last = state.parts.filter((p) => roundOf(p) === round);
  await download(spec, state, last);
  if (state.failure !== null || state.cancelRequested) return false;
  const firstIndex = state.parts.reduce((max, p) => Math.max(max, p.index), -1) + 1;
  let plans: PartPlan[] = [];
  await guard(state, async () => {
    plans = await provider.planRetryRound(spec, { round: round + 1, from: last.map((p) => p.results!), firstIndex });
  });
  if (plans.length === 0) return false;
  log.info('retrying failed requests', { batchId: spec.batchId, round: round + 1, requests: plans.reduce((a, p) => a + p.requestCount, 0), parts: plans.length });
  state.parts.push(...plans.map((p) => ({ ...p, round: round + 1, prepared: null, batch: null, cancelSent: false, error: null, results: null })));
  return true;
}

/** Gives back every share still held, then downloads each ended part's results and merges them into the batch's files. */
async function finish(spec: BatchWorkflowInput['spec'], state: BatchState, admission: PartAdmission | null): Promise<void> {
  await admission?.release(state.parts, true);
  // Planning failed: the whole input is accounted for as one part that never reached the provider.
  if (state.parts.length === 0) state.parts = [{ index: 0, ...spec.input, prepared: null, batch: null, cancelSent: false, error: null, results: null }];
  await download(spec, state, state.parts);
  const results = state.parts.map((p) => p.results!);
  // Parts a retry round followed: their retryable error lines were resubmitted, so the merge leaves them out.
  const last = lastRound(state);
  const superseded = state.parts.flatMap((p, i) => (roundOf(p) < last ? [i] : []));
  state.results = superseded.length > 0 ? await provider.mergeResults(spec, results, superseded) : await provider.mergeResults(spec, results);
  state.finishedAt = Math.floor(Date.now() / 1000);
  log.info('batch finished', { status: batchStatus(state, spec.retryFailed?.codes), ...state.results });
}
