/**
 * What every step of the job workflow shares: the batch's spec and state, the activities, publishing progress
 * (memo, search attributes, Web UI details), the scopes a cancel or a continue-as-new interrupts, and the submit
 * slots. Workflow code.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchActivities, JobActivities } from '../../contract/activities';
import type { AnybatchBatch } from '../../contract/batch';
import { MEMO_BATCH } from '../../contract/messages';
import type { JobState, Part, PartOutcome } from '../../contract/part';
import type { BatchSpec } from '../../contract/spec';
import { boundedBatch } from '../bounded-view';
import { currentDetails } from '../details';
import { jobView, unboundedJobView } from './view';
import { searchAttributesOf } from './publish';

/** Continue-as-new well before Temporal's history warnings (10,240 events). */
const MAX_HISTORY_EVENTS = 4_000;
/** Provider batches submitted at once when the input is split (unless the batch says otherwise). */
const SUBMIT_CONCURRENCY = 4;
/** A change of counts alone is checkpointed at most this often (status changes at once). */
export const DEFAULT_PROGRESS_INTERVAL_MS = 30 * 60_000;

/** Outcomes that mean every part would fail the same way: once one part meets them, the others are not tried. */
const BATCH_WIDE = new Set(['provider_auth', 'provider_permission', 'provider_bad_endpoint', 'provider_unreachable', 'bad_credentials', 'storage_unreadable', 'storage_mismatch', 'storage_config', 'storage_bucket_missing', 'storage_access_denied', 'storage_credentials_missing']);

export class Job {
  readonly spec: BatchSpec;
  readonly state: JobState;
  /** Side-effecting steps: they heartbeat, and bound their own retries (the batch's retryTimeout). */
  readonly steps = proxyActivities<BatchActivities>({
    startToCloseTimeout: '2h',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  });
  /** Short reads that need no heartbeat. */
  readonly quick = proxyLocalActivities<BatchActivities>({ startToCloseTimeout: '2m', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 } });
  /**
   * One result download: two quick attempts (a blip), then the workflow retries it for longer with its own backoff,
   * counting the calls whose worker stopped answering: a download that kills workers ends after a few, never loops.
   */
  readonly downloads = proxyActivities<JobActivities>({
    startToCloseTimeout: '2h',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 2 },
  });
  /** The wait of a running part: retried at the poll interval, at a flat rate, for as long as the part runs. */
  readonly waits: JobActivities;
  /** Starts the lives of new parts (a re-split's): set by the workflow's part runner. */
  spawn: (parts: Part[]) => void = () => undefined;
  /** Set once a continue-as-new is due: parts stop at their next safe point. */
  draining = false;
  private readonly scopes = new Set<CancellationScope>();
  private readonly waitScopes = new Set<CancellationScope>();
  private published = '';
  private slots: number;
  private readonly queue: (() => void)[] = [];
  private serial: Promise<void> = Promise.resolve();

  constructor(spec: BatchSpec, state: JobState) {
    this.spec = spec;
    this.state = state;
    this.slots = spec.submitConcurrency ?? SUBMIT_CONCURRENCY;
    this.waits = proxyActivities<JobActivities>({
      startToCloseTimeout: '2m',
      retry: { initialInterval: spec.pollIntervalMs, backoffCoefficient: 1, maximumInterval: spec.pollIntervalMs },
      cancellationType: 'TRY_CANCEL',
    });
  }

  get parts(): Part[] {
    return this.state.parts ?? [];
  }

  view(): AnybatchBatch {
    return jobView(this.spec, this.state);
  }

  /** Replaces a part by its next self (or by several, or by none), keeping the order of the others. */
  replace(part: Part, next: Part | Part[]): void {
    const parts = this.parts;
    const at = parts.findIndex((p) => p.index === part.index);
    parts.splice(at === -1 ? parts.length : at, at === -1 ? 0 : 1, ...(Array.isArray(next) ? next : [next]));
  }

  current(index: number): Part | undefined {
    return this.parts.find((p) => p.index === index);
  }

  /**
   * Memo, search attributes and Web UI details, when the batch as shown changed. The memo and the details hold the
   * bounded batch; whether to publish is decided on the view before its bound, as it was before the bound existed,
   * so that running batches replay with the commands their histories hold (search attributes keep their own bound).
   */
  publish(): void {
    const view = unboundedJobView(this.spec, this.state);
    const snapshot = JSON.stringify(view);
    if (snapshot === this.published) return;
    this.published = snapshot;
    const batch = boundedBatch(view);
    setCurrentDetails(currentDetails(batch));
    upsertMemo({ [MEMO_BATCH]: batch });
    if (this.spec.searchAttributes) upsertSearchAttributes(searchAttributesOf(this.spec, view, this.parts.length));
  }

  /**
   * Runs `fn` where a cancel request or a continue-as-new can interrupt it; false when it was interrupted. A part's
   * wait on its provider batch (`waiting`) can also be woken by a provider's event (`wake`), which only waits heed.
   */
  async interruptible(fn: () => Promise<void>, opts: { waiting?: boolean } = {}): Promise<boolean> {
    const scope = new CancellationScope({ cancellable: true });
    this.scopes.add(scope);
    if (opts.waiting) this.waitScopes.add(scope);
    try {
      await scope.run(fn);
      return true;
    } catch (err) {
      if (isCancellation(err)) return false;
      throw err;
    } finally {
      this.scopes.delete(scope);
      this.waitScopes.delete(scope);
    }
  }

  /** Interrupts the parts' waits on their provider batches only, so each polls at once (a provider's webhook). */
  wake(): void {
    for (const scope of this.waitScopes) scope.cancel();
  }

  /** Interrupts every wait (a cancel to send, a continue-as-new to make). */
  interrupt(): void {
    for (const scope of this.scopes) scope.cancel();
  }

  /** Whether the history is long enough to continue as new: then every part stops at its next safe point. */
  checkHistory(): void {
    if (this.draining) return;
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) {
      this.draining = true;
      this.interrupt();
    }
  }

  /** Holds one of the submit slots while `fn` runs (uploads and creates, a few at a time). */
  async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.slots === 0) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.slots -= 1;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.slots += 1;
    }
  }

  /**
   * Once every part ended and none reached the provider (each refused at create, or cancelled before), the batch
   * failed as a whole, with the first part's failure: the caller's `createBatch` then throws it.
   */
  noteNothingRan(): void {
    const parts = this.parts;
    if (this.state.failure !== null || this.state.cancelRequested || parts.length === 0) return;
    if (!parts.every((p) => p.phase === 'downloading' || p.phase === 'done')) return;
    if (parts.some((p) => (p.phase === 'downloading' || p.phase === 'done') && p.batch !== null)) return;
    const first = parts.find((p) => (p.phase === 'downloading' || p.phase === 'done') && p.outcome !== null && p.outcome.code !== 'batch_cancelled');
    if (first && (first.phase === 'downloading' || first.phase === 'done') && first.outcome) this.state.failure = first.outcome;
  }

  /**
   * Runs `fn` alone among the callers of `serially`: refused parts are reviewed one at a time, so the new parts one
   * makes (numbered from `nextIndex`) are in the state before the next one numbers its own.
   */
  serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.then(() => undefined, () => undefined);
    return run;
  }

  /** Records a failure that every part would meet, so that parts not yet tried settle with it instead. */
  noteFailure(outcome: PartOutcome): void {
    if (this.state.failure === null && BATCH_WIDE.has(outcome.code) && !this.parts.some((p) => p.phase === 'running' || ((p.phase === 'downloading' || p.phase === 'done') && p.batch !== null))) {
      this.state.failure = outcome;
    }
  }
}

/** A failed activity as `{ code, message }`: the ApplicationFailure's type and message, or the error's. */
export function describeFailure(err: unknown): PartOutcome {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { code: cause.type ?? 'provider_error', message: cause.message };
  if (cause instanceof Error && cause.name === 'TimeoutFailure') return { code: 'timeout', message: cause.message };
  return { code: 'orchestration_error', message: err instanceof Error ? err.message : String(err) };
}

/** A failure that retrying cannot fix. */
export function isPermanent(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.nonRetryable === true;
}

/** The failure was a worker that stopped answering (crashed or killed) rather than an error it reported. */
export function isCrashLike(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error && cause.name === 'TimeoutFailure';
}
