/**
 * A batch prediction job's state as a pure function of the clock (states: docs/provider-apis-3.md section 2,
 * installed @google/genai `JobState`). PENDING for the validation time, then RUNNING at the sandbox's rate, then
 * SUCCEEDED, also when some lines failed (they are counted in `failedCount`; Vertex keeps PARTIALLY_SUCCEEDED for
 * other job kinds, its Gemini batch documentation lists SUCCEEDED with per-row statuses). A job whose input could not
 * be read, or created under `failValidation`, ends FAILED when validation ends. A cancel makes it CANCELLING for the
 * cancelling time, then CANCELLED; a job still running at its expiry is EXPIRED. Lines answered by the end are
 * the output ("If the batch prediction job is terminated, all completed rows are exported").
 */

export type JobState =
  | 'JOB_STATE_PENDING'
  | 'JOB_STATE_RUNNING'
  | 'JOB_STATE_SUCCEEDED'
  | 'JOB_STATE_FAILED'
  | 'JOB_STATE_CANCELLING'
  | 'JOB_STATE_CANCELLED'
  | 'JOB_STATE_EXPIRED';

export interface JobClock {
  createdMs: number;
  /** When validation ends and lines start to run. */
  runMs: number;
  expiresMs: number;
  cancelMs: number | null;
  /** Lines in the input. */
  total: number;
  /** The job fails as a whole (unreadable input, `failValidation`). */
  fails: boolean;
}

export interface JobTiming {
  /** Lines answered per second. */
  rate: number;
  cancellingMs: number;
}

export interface JobView {
  state: JobState;
  /** When lines started to run, once they have. */
  startMs: number | null;
  endMs: number | null;
  /** Lines answered (in input order), which are the output's lines. */
  processed: number;
}

export const ENDED: ReadonlySet<JobState> = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EXPIRED']);

export function derive(job: JobClock, t: number, timing: JobTiming): JobView {
  const processedAt = (ms: number): number => Math.min(job.total, Math.max(0, Math.floor(((ms - job.runMs) * timing.rate) / 1000)));
  const startedBy = (ms: number): number | null => (ms >= job.runMs ? job.runMs : null);
  // A cancel is only taken before the job ends, so one that was taken wins over a failure still to come.
  if (job.cancelMs !== null) {
    const endMs = job.cancelMs + timing.cancellingMs;
    const view = { startMs: job.fails ? null : startedBy(job.cancelMs), processed: processedAt(job.cancelMs) };
    return t < endMs ? { state: 'JOB_STATE_CANCELLING', endMs: null, ...view } : { state: 'JOB_STATE_CANCELLED', endMs, ...view };
  }
  if (job.fails) {
    if (t < job.runMs) return { state: 'JOB_STATE_PENDING', startMs: null, endMs: null, processed: 0 };
    return { state: 'JOB_STATE_FAILED', startMs: null, endMs: job.runMs, processed: 0 };
  }
  const doneMs = job.runMs + Math.ceil((job.total * 1000) / timing.rate);
  if (job.expiresMs < doneMs && t >= job.expiresMs) {
    return { state: 'JOB_STATE_EXPIRED', startMs: startedBy(job.expiresMs), endMs: job.expiresMs, processed: processedAt(job.expiresMs) };
  }
  if (t < job.runMs) return { state: 'JOB_STATE_PENDING', startMs: null, endMs: null, processed: 0 };
  if (t < doneMs) return { state: 'JOB_STATE_RUNNING', startMs: job.runMs, endMs: null, processed: processedAt(t) };
  return { state: 'JOB_STATE_SUCCEEDED', startMs: job.runMs, endMs: doneMs, processed: job.total };
}

/** When the state last changed, at or before `t`: the job's `updateTime`. */
export function lastChangeMs(job: JobClock, view: JobView): number {
  return Math.max(job.createdMs, view.endMs ?? 0, view.startMs ?? 0, job.cancelMs ?? 0);
}
