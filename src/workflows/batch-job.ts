/**
 * The batch job workflow: one per batch, as the design card draws it. Plan the parts; for each part: admit, upload,
 * create, wait until terminal, download; merge; end like the batch. Cancel is a signal (or Temporal's cancellation),
 * status a query, progress in the memo, search attributes and the Web UI's details. Each part is a pure state machine
 * (src/contract/part.ts, ./job/part.ts); admission, refused parts and retry rounds are policies (./job/policies/).
 *
 * Waiting costs nothing while nothing changes. A running part is awaited by one activity, `awaitPart`, that reads
 * the provider once per attempt and fails with a benign "not yet" until something needs the workflow; Temporal
 * retries it at the poll interval at a flat rate (backoff coefficient 1), and an activity retry writes no history
 * event and runs no workflow task. So, for a batch that waits:
 * - history grows only at checkpoints: a status change (at once), counts that moved (at most once per
 *   `progressIntervalMs`, 30 min by default), a failing read (once per failing spell), terminal, or the deadline;
 *   about 8 events each, a few per hour, where polling from the workflow wrote 6 or 7 per poll;
 * - progress shown by the query, memo and Web UI is at most one checkpoint interval stale (statuses are fresh);
 *   `anybatch get` stays exact for what it reads from the workflow;
 * - a dead worker's waits resume elsewhere at the next attempt: at once between attempts (the retry is the
 *   server's), within the attempt's 2-minute start-to-close timeout if it died mid-read;
 * - a cancel (signal) interrupts the waits at once and sends the provider's cancel in the same workflow task;
 * - an idle batch holds no activity slot and no timer, and leaves the workflow cache when the cache is full: a
 *   worker's memory is bounded by its cache size (`ANYBATCH_WORKFLOW_CACHE`), not by the batches in flight.
 *
 * Nothing is lost at a seam: each part's status is read on its own (one unreadable part is given up alone, named,
 * its provider batch cancelled where possible and its id kept); results are downloaded for as long as the provider
 * keeps them; a part stuck past its window plus a grace is cancelled, then given up as expired; search attributes are
 * bounded whatever the number of parts; a batch with a part given up ends `failed` or `expired`, never `completed`.
 * History stays bounded with continue-as-new: parts stop at a safe point and the small state carries over.
 */
import { CancellationScope, allHandlersFinished, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import type { AnybatchBatch } from '../contract/batch';
import { cancelSignal, providerBatchEventSignal, statusQuery, submittedUpdate } from '../contract/messages';
import type { BatchJobInput, JobState, Part } from '../contract/part';
import { announce } from './job/announce';
import { endLikeBatch } from './job/end';
import { runPart, type Policies } from './job/lifecycle';
import { admissionPolicy } from './job/policies/admission';
import { nextRetryRound } from './job/policies/retry-rounds';
import { backToPlanned, plannedPart, recoverableParts, settled } from './job/part';
import { Job, describeFailure } from './job/runtime';
import { initialJobState, lastRound } from './job/view';

export async function batchJob(input: BatchJobInput): Promise<AnybatchBatch> {
  const job = new Job(input.spec, restore(input.state));
  const cancelledByTemporal = handle(job);
  const policies: Policies = { admission: admissionPolicy(job) };

  return CancellationScope.nonCancellable(async () => {
    job.publish();
    if (job.state.parts === null) await plan(job);
    for (;;) {
      await runParts(job, policies); // each part: admit, upload, create, wait until terminal, download
      if (job.draining) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof batchJob>({ spec: job.spec, state: job.state });
      }
      const round = await nextRetryRound(job); // retryFailed: the failed requests go out again
      if (round.length === 0) break;
      job.parts.push(...round);
    }
    policies.admission.close();
    await merge(job);
    job.publish();
    await announce(job.spec, job.view()); // the batch's webhook, when it has one
    await condition(allHandlersFinished);
    return endLikeBatch(job.view(), cancelledByTemporal);
  });
}

/** Status query, cancel signal, submitted update, and Temporal's cancellation as a graceful cancel. */
function handle(job: Job): () => boolean {
  setHandler(statusQuery, () => job.view());
  const requestCancel = () => {
    job.state.cancelRequested = true;
    job.interrupt();
  };
  setHandler(cancelSignal, requestCancel);
  // A provider's webhook: the waiting parts poll now (a batch without webhooks never receives it).
  setHandler(providerBatchEventSignal, () => job.wake());
  setHandler(submittedUpdate, async () => {
    // A continue-as-new answers too (with the batch as it stands): a waiting update must not hold the run open.
    await condition(() => job.state.failure !== null || job.state.results !== null || job.draining || allSubmitted(job.state));
    return job.view();
  });
  let cancelled = false;
  CancellationScope.current().cancelRequested.catch(() => {
    cancelled = true;
    requestCancel();
  });
  return () => cancelled;
}

/** Every part reached the provider, ended before it, or waits (admission, queue-limit backoff). */
function allSubmitted(state: JobState): boolean {
  const parts = state.parts;
  return parts !== null && parts.length > 0 && parts.every((p) => p.phase !== 'planned' && p.phase !== 'submitting');
}

/** A later run's state: steps cut short by continue-as-new start again (uploads and creates are idempotent). */
function restore(state: JobState | undefined): JobState {
  if (!state) return initialJobState();
  const parts = state.parts?.map((p) => (p.phase === 'submitting' || p.phase === 'admitting' ? backToPlanned(p) : p));
  return { ...state, parts: parts ?? null };
}

async function plan(job: Job): Promise<void> {
  try {
    job.state.parts = (await job.steps.planParts(job.spec)).map((p) => plannedPart(p));
  } catch (err) {
    // Planning failed: the whole input is accounted for as one part that never reached the provider.
    job.state.failure = describeFailure(err);
    const { path, requestCount, bytes } = job.spec.input;
    job.state.parts = [settled(plannedPart({ index: 0, path, requestCount, bytes }), job.state.failure)];
  }
  job.publish();
}

/** Runs every unfinished part to its end (or to a safe point, when a continue-as-new is due), re-splits included. */
async function runParts(job: Job, policies: Policies): Promise<void> {
  const running = new Map<number, Promise<void>>();
  const start = (part: Part) => {
    if (running.has(part.index)) return;
    running.set(part.index, runPart(job, policies, part.index, job.spawn).finally(() => running.delete(part.index)));
  };
  job.spawn = (parts) => parts.forEach(start);
  job.parts.filter((p) => p.phase !== 'done').forEach(start);
  while (running.size > 0) await Promise.all([...running.values()]);
}

/** Merges every part's results into the batch's two files (a retry round's parts supersede their round's errors). */
async function merge(job: Job): Promise<void> {
  const { state } = job;
  const parts = job.parts;
  if (state.failure === null && !state.cancelRequested && !parts.some((p) => (p.phase === 'done' && p.batch !== null && p.batch.status !== 'failed'))) {
    const first = parts.find((p) => p.phase === 'done' && p.outcome !== null);
    if (first && first.phase === 'done' && first.outcome) state.failure = first.outcome;
  }
  const results = parts.map((p) => (p.phase === 'done' ? p.results : null)).filter((r) => r !== null);
  const last = lastRound(parts);
  const superseded = parts.flatMap((p, i) => (p.round < last ? [i] : []));
  // Parts given up with a provider batch: recorded, so `anybatch recover` can read what they produce later.
  const recoverable = recoverableParts(parts);
  if (recoverable.length > 0) state.results = await job.steps.mergeResults(job.spec, results, superseded, recoverable);
  else if (superseded.length > 0) state.results = await job.steps.mergeResults(job.spec, results, superseded);
  else state.results = await job.steps.mergeResults(job.spec, results);
  state.finishedAt = Math.floor(Date.now() / 1000);
}

