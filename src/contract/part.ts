/**
 * A part's life in the batch job workflow (src/workflows/batch-job.ts), as one discriminated union: each phase
 * carries exactly what is known in it, so no combination of flags can say two things at once. The transitions and
 * decisions are pure functions in src/workflows/job/part.ts. Types only.
 *
 *   planned ─admit─▶ admitting ─granted─▶ submitting ─created─▶ running ─terminal─▶ downloading ─written─▶ done
 *      ▲                                    │                     │  (cancel sent; past its deadline: cancelled,
 *      └──── queued (queue-limit backoff) ◀─┤ refused              │   then given up)
 *                      re-split: replaced ◀─┘                     └─ status unreadable for good: given up
 *
 * A part that never reached the provider, or was given up, goes to `downloading` with an `outcome`: every request of
 * it gets that error line (its provider batch id is kept in the batch, to read what it produced later).
 */
import type { AdmissionTicket } from './admission';
import type { Batch, BatchResultFiles } from './batch';
import type { PreparedInput } from './prepared';
import type { BatchSpec, PartPlan, PartResults } from './spec';

/** Why a part's requests were not (all) read from the provider: each gets an error line with this code. */
export interface PartOutcome {
  code: string;
  message: string;
}

/** What every phase of a part shares: its plan, its round, what was uploaded and its admission share. */
export interface PartBase extends PartPlan {
  /** The retry round that made it (0: the parts the input was split into). */
  round: number;
  /** What `uploadPart` left at the provider; null until then. */
  prepared: PreparedInput | null;
  /** Its share of an admission budget while it holds one (released as soon as it ended). */
  ticket: AdmissionTicket | null;
  /** Refusals for a queue limit so far, and when the first was (workflow ms): the backoff doubles, the bound holds. */
  queueLimit?: { attempts: number; sinceMs: number };
}

export type PartPhase =
  /** Waiting for its turn to be submitted. */
  | { phase: 'planned' }
  /** Waiting for admission control: why (the measure the budget is short of). */
  | { phase: 'admitting'; reason: string }
  /** Refused by the provider for a queue limit: submitted again at `untilMs` (workflow time). */
  | { phase: 'queued'; reason: string; attempts: number; sinceMs: number; untilMs: number }
  /** Its upload and create are under way (idempotent: a later run submits it again and finds what was made). */
  | { phase: 'submitting' }
  /**
   * At the provider. `deadlineMs`: past it (its completion window plus the grace) it is cancelled; `cancelSentMs`:
   * when a cancel was sent (then past `deadlineMs` again it is given up with whatever results exist).
   */
  | { phase: 'running'; batch: Batch; deadlineMs: number; cancelSentMs: number | null }
  /** Ended (at the provider, or before it): its results are being written. `outcome` null: read them from the provider. */
  | { phase: 'downloading'; batch: Batch | null; outcome: PartOutcome | null; gaveUp: boolean; notice?: PartOutcome }
  /** Its results are written. `notice`: why a failed provider batch was not submitted again (shown in `errors`). */
  | { phase: 'done'; batch: Batch | null; outcome: PartOutcome | null; gaveUp: boolean; notice?: PartOutcome; results: PartResults };

export type Part = PartBase & PartPhase;
export type PhaseName = PartPhase['phase'];

/** The job workflow's whole state: small, carried across continue-as-new. */
export interface JobState {
  /** Null until the input was planned (split into parts). */
  parts: Part[] | null;
  cancelRequested: boolean;
  /** Why the batch failed as a whole (nothing reached the provider, planning failed), if it did. */
  failure: PartOutcome | null;
  /** The merged results, once written. */
  results: BatchResultFiles | null;
  /** Unix seconds at which the results were written. */
  finishedAt: number | null;
  /** The last failing step being retried, while it fails (for `anybatch.retrying`). */
  retrying: { step: string; part: number; error: string; sinceMs: number } | null;
}

/** The input of the job workflow: the batch's spec, and its state when continuing an earlier run. */
export interface BatchJobInput {
  spec: BatchSpec;
  state?: JobState;
}

/** What `awaitPart` (src/activities/wait.ts) tells the workflow, early or once the part is terminal. */
export type PartWaitResult =
  /** The provider batch is terminal. */
  | { kind: 'terminal'; batch: Batch }
  /** A checkpoint: the status changed, or counts moved and the checkpoint interval passed. */
  | { kind: 'progress'; batch: Batch }
  /** Reading the status fails and is being retried: shown as `anybatch.retrying`, at most once per failing spell. */
  | { kind: 'failing'; error: string; sinceMs: number }
  /** The status cannot be read for good (404, 401, 403, or failing past the bound): the part is given up. */
  | { kind: 'unreadable'; code: string; error: string }
  /** The part's deadline passed while it was not terminal. */
  | { kind: 'deadline'; batch: Batch };
