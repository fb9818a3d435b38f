/**
 * One part's life in the job workflow: admit, upload and create, wait until terminal, download. Each step reads the
 * part afresh from the state (a cancel, a re-split or a continue-as-new may have changed it), applies a pure
 * transition from ./part.ts, and publishes. Workflow code.
 */
import { isCancellation, log, sleep } from '@temporalio/workflow';
import type { Part, PartOutcome } from '../../contract/part';
import { isTerminal } from '../../contract/batch';
import {
  backToPlanned,
  cancelSent,
  created,
  duration,
  givenUp,
  observed,
  pastDeadline,
  planOf,
  settled,
  submitting,
  unreadable,
  written,
} from './part';
import type { AdmissionPolicy } from './policies/admission';
import { reviewRefusal } from './policies/resubmit';
import { DEFAULT_PROGRESS_INTERVAL_MS, describeFailure, isCrashLike, isPermanent, type Job } from './runtime';

/** How long the download of results is retried, unless the batch says otherwise (OpenAI keeps result files 30 days). */
export const DEFAULT_RESULTS_RETENTION_MS = 30 * 86_400_000;
/** Attempts of one download that ended with the worker gone (crashed, killed) before the part is given up. */
const MAX_DOWNLOAD_CRASHES = 3;
/** Between rounds of download attempts: doubling from a minute up to an hour. */
const DOWNLOAD_BACKOFF = { initialMs: 60_000, maxMs: 3600_000 };

export interface Policies {
  admission: AdmissionPolicy;
}

type Phase<P extends Part['phase']> = Extract<Part, { phase: P }>;

const CANCELLED: PartOutcome = { code: 'batch_cancelled', message: 'Cancelled before submission.' };

/**
 * Runs the part with `index` until its results are written, it is replaced (the parts standing in for it are
 * handed to `spawn`), or a continue-as-new is due (then it stops at a safe point: never mid-create or mid-download).
 */
export async function runPart(job: Job, policies: Policies, index: number, spawn: (parts: Part[]) => void): Promise<void> {
  const failing = { sinceMs: null as number | null };
  for (;;) {
    const part = job.current(index);
    if (!part || part.phase === 'done') return;
    if (job.draining && part.phase !== 'downloading') return;
    switch (part.phase) {
      case 'planned':
      case 'admitting':
      case 'submitting':
        if (!(await submit(job, policies, part, spawn))) return;
        break;
      case 'queued':
        await backoff(job, part);
        break;
      case 'running':
        await wait(job, policies, part, failing);
        break;
      case 'downloading':
        await policies.admission.release(part);
        await download(job, job.current(index) as Phase<'downloading'>);
        break;
    }
    job.noteNothingRan();
    job.publish();
    job.checkHistory();
  }
}

/** Admit, upload, create. False when the part stepped aside (replaced, or stopped for a continue-as-new). */
async function submit(job: Job, policies: Policies, part: Part, spawn: (parts: Part[]) => void): Promise<boolean> {
  const { spec, state } = job;
  if (state.cancelRequested || state.failure !== null) {
    job.replace(part, settled(part, state.cancelRequested ? CANCELLED : state.failure!));
    return true;
  }
  if (!(await policies.admission.admit(part))) {
    const now = job.current(part.index);
    if (!now) return false;
    if (state.cancelRequested) job.replace(now, settled(now, CANCELLED));
    else job.replace(now, backToPlanned(now));
    return !job.draining;
  }
  return job.slot(async () => {
    let current = job.current(part.index)!;
    if (state.cancelRequested || state.failure !== null) {
      job.replace(current, settled(current, state.cancelRequested ? CANCELLED : state.failure!));
      return true;
    }
    current = submitting(current);
    job.replace(job.current(part.index)!, current);
    job.publish();
    try {
      const plan = planOf(current);
      if (current.prepared === null) {
        const prepared = await job.steps.uploadPart(spec, plan);
        current = { ...job.current(part.index)!, prepared } as Part;
        job.replace(current, current);
      }
      const batch = await job.steps.createPartBatch(spec, plan, current.prepared);
      const next = created(spec, job.current(part.index)!, batch, Date.now());
      job.replace(current, next);
      // Failed at once (OpenAI fails a batch over the enqueued-token limit as it creates it): reviewed like any failure.
      if (batch.status === 'failed' && !state.cancelRequested) await reviewFailed(job, policies, next);
      return job.current(part.index) !== undefined;
    } catch (err) {
      const outcome = describeFailure(err);
      job.noteFailure(outcome);
      return refused(job, policies, job.current(part.index)!, outcome, spawn);
    }
  });
}

/** A part refused at create, or failed as a whole at the provider: requeued, re-split, or settled. */
async function refused(job: Job, policies: Policies, part: Part, outcome: PartOutcome, spawn: (parts: Part[]) => void): Promise<boolean> {
  if (job.state.cancelRequested || job.state.failure !== null) {
    await policies.admission.release(part);
    job.replace(job.current(part.index)!, part.phase === 'downloading' ? part : settled(part, outcome));
    return true;
  }
  return job.serially(async () => {
    const { decision, parts } = await reviewRefusal(job, job.current(part.index) ?? part, outcome);
    // The refused part's share of the budget goes back before it (or its re-split) asks again.
    await policies.admission.release(part);
    const now = job.current(part.index)!;
    if (decision.kind === 'settle') {
      // A batch the provider failed keeps its error lines (read from the provider), with why it was not submitted
      // again when that is news; a refused create has no lines: its requests get the failure.
      if (now.phase === 'downloading') job.replace(now, decision.outcome !== outcome ? { ...now, notice: decision.outcome } : now);
      else job.replace(now, settled(now, decision.outcome));
      return true;
    }
    job.replace(now, parts);
    spawn(parts);
    return false;
  });
}

async function backoff(job: Job, part: Phase<'queued'>): Promise<void> {
  if (job.state.cancelRequested) {
    job.replace(part, settled(part, CANCELLED));
    return;
  }
  const waitMs = part.untilMs - Date.now();
  if (waitMs > 0 && !(await job.interruptible(() => sleep(waitMs)))) return;
  const now = job.current(part.index);
  if (now?.phase === 'queued' && !job.state.cancelRequested) job.replace(now, backToPlanned(now));
}

async function sendCancel(job: Job, part: Phase<'running'>): Promise<void> {
  let batch = part.batch;
  try {
    batch = await job.steps.cancelProviderBatch(job.spec, part.batch.id);
  } catch (err) {
    log.warn('cancel failed; waiting on', { part: part.index, error: describeFailure(err).message });
  }
  const now = job.current(part.index) as Phase<'running'>;
  const next = observed(now, batch);
  job.replace(now, next.phase === 'running' ? cancelSent(next, Date.now(), job.spec) : next);
}

/** Waits until the part's provider batch is terminal, a checkpoint, a cancel to send, or its deadline. */
async function wait(job: Job, policies: Policies, part: Phase<'running'>, failing: { sinceMs: number | null }): Promise<void> {
  const { spec, state } = job;
  if (state.cancelRequested && part.cancelSentMs === null) return sendCancel(job, part);
  let result: Awaited<ReturnType<Job['waits']['awaitPart']>> | undefined;
  let failure: unknown;
  const finished = await job.interruptible(async () => {
    try {
      result = await job.waits.awaitPart(spec, {
        part: part.index,
        batch: part.batch,
        deadlineMs: part.deadlineMs,
        failingSinceMs: failing.sinceMs,
        progressIntervalMs: spec.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
      });
    } catch (err) {
      if (isCancellation(err)) throw err; // interrupted: a cancel to send, a continue-as-new, or a provider's event
      failure = err;
    }
  }, { waiting: true });
  if (!finished) return;
  const now = job.current(part.index) as Phase<'running'>;
  if (result === undefined) result = { kind: 'unreadable', ...codeAndError(failure) };
  if (result.kind !== 'failing' && failing.sinceMs !== null) {
    failing.sinceMs = null;
    if (state.retrying?.part === part.index) state.retrying = null;
  }
  switch (result.kind) {
    case 'progress':
      job.replace(now, observed(now, result.batch));
      return;
    case 'terminal': {
      const next = observed(now, result.batch);
      job.replace(now, next);
      if (result.batch.status === 'failed' && !state.cancelRequested) await reviewFailed(job, policies, next);
      return;
    }
    case 'failing':
      failing.sinceMs = result.sinceMs;
      state.retrying = { step: 'poll', part: part.index, error: result.error, sinceMs: result.sinceMs };
      return;
    case 'unreadable': {
      log.warn('part given up: its status cannot be read', { batchId: spec.batchId, part: part.index, code: result.code, error: result.error });
      if (part.cancelSentMs === null) {
        try {
          await job.steps.cancelProviderBatch(spec, part.batch.id);
        } catch {
          // Unreadable is often uncancellable too (404, 401): the id is kept in the batch.
        }
      }
      job.replace(job.current(part.index)!, unreadable(job.current(part.index) as Phase<'running'>, result.code, result.error, spec));
      return;
    }
    case 'deadline': {
      const seen = observed(now, result.batch);
      if (seen.phase !== 'running') {
        job.replace(now, seen);
        return;
      }
      const decision = pastDeadline(seen, spec);
      if (decision.action === 'cancel') {
        log.warn('part past its completion window: cancelled', { batchId: spec.batchId, part: part.index, status: seen.batch.status });
        job.replace(now, seen);
        return sendCancel(job, seen);
      }
      log.warn('part given up after its deadline and a cancel', { batchId: spec.batchId, part: part.index, status: seen.batch.status });
      job.replace(now, givenUp(seen, decision.outcome));
      return;
    }
  }
}

/** A provider batch that ended `failed`: resubmitted when its failure says so (queue limit, size). */
async function reviewFailed(job: Job, policies: Policies, part: Part): Promise<void> {
  const outcome: PartOutcome = { code: 'batch_failed', message: 'The provider failed the batch.' };
  await refused(job, policies, part, outcome, (parts) => job.spawn(parts));
}

function codeAndError(err: unknown): { code: string; error: string } {
  const d = describeFailure(err);
  return { code: d.code, error: d.message };
}

/** Writes the part's results: read from the provider (retried as long as it keeps them), or `outcome` for each request. */
async function download(job: Job, part: Phase<'downloading'>): Promise<void> {
  const { spec, state } = job;
  const plan = planOf(part);
  if (part.outcome === null && part.batch !== null && isTerminal(part.batch.status)) {
    const startedMs = Date.now();
    const retentionMs = spec.resultsRetentionMs ?? DEFAULT_RESULTS_RETENTION_MS;
    let crashes = 0;
    for (let round = 0; ; round++) {
      try {
        const results = await job.downloads.downloadPart(spec, plan, part.batch);
        if (state.retrying?.part === part.index) state.retrying = null;
        job.replace(job.current(part.index)!, written(job.current(part.index) as Phase<'downloading'>, results));
        return;
      } catch (err) {
        const failure = describeFailure(err);
        if (isCrashLike(err)) crashes += 1;
        const elapsed = Date.now() - startedMs;
        if (isPermanent(err) || crashes >= MAX_DOWNLOAD_CRASHES || elapsed >= retentionMs) {
          const why = crashes >= MAX_DOWNLOAD_CRASHES ? `the worker stopped answering ${crashes} times while reading them` : failure.message;
          log.error('results of a part could not be read: its requests are accounted as errors', { batchId: spec.batchId, part: part.index, error: why });
          job.replace(job.current(part.index)!, givenUp(job.current(part.index)!, {
            code: 'results_unavailable',
            message: `the results of provider batch ${part.batch.id} (part ${part.index}) could not be read after ${duration(elapsed)}: ${why}; \`anybatch recover ${spec.batchId}\` reads them later`,
          }));
          if (state.retrying?.part === part.index) state.retrying = null;
          return download(job, job.current(part.index) as Phase<'downloading'>);
        }
        state.retrying = { step: 'download', part: part.index, error: failure.message, sinceMs: startedMs };
        job.publish();
        await sleep(Math.min(DOWNLOAD_BACKOFF.initialMs * 2 ** round, DOWNLOAD_BACKOFF.maxMs));
      }
    }
  }
  // No provider results to read: every request gets the part's outcome (the store alone is written).
  const outcome = part.outcome ?? state.failure ?? { code: 'batch_failed', message: 'The batch failed.' };
  for (let round = 0; ; round++) {
    try {
      const results = await job.steps.downloadPartResults(spec, plan, part.batch, outcome);
      job.replace(job.current(part.index)!, written(job.current(part.index) as Phase<'downloading'>, results));
      return;
    } catch (err) {
      if (isPermanent(err) && round >= 2) throw err;
      state.retrying = { step: 'download', part: part.index, error: describeFailure(err).message, sinceMs: Date.now() };
      job.publish();
      await sleep(Math.min(DOWNLOAD_BACKOFF.initialMs * 2 ** round, DOWNLOAD_BACKOFF.maxMs));
    }
  }
}
