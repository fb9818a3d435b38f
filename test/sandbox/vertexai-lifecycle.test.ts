/**
 * The vertexai module's job states as a pure function of the clock (src/sandbox/providers/vertexai/lifecycle.ts),
 * table-tested: which state, since when, and how many lines answered, at each moment of each kind of job.
 */
import { derive, type JobClock, type JobView } from '../../src/sandbox/providers/vertexai/lifecycle';

const TIMING = { rate: 10, cancellingMs: 500 };
/** Created at 0, lines from 1000, 20 lines at 10 a second: done at 3000 unless something else happens. */
const JOB: JobClock = { createdMs: 0, runMs: 1000, expiresMs: 100_000, cancelMs: null, total: 20, fails: false };

const view = (state: JobView['state'], startMs: number | null, endMs: number | null, processed: number): JobView => ({ state, startMs, endMs, processed });

test.each<[string, Partial<JobClock>, number, JobView]>([
  ['pending until validation ends', {}, 999, view('JOB_STATE_PENDING', null, null, 0)],
  ['running, lines answered at the rate', {}, 1500, view('JOB_STATE_RUNNING', 1000, null, 5)],
  ['succeeded when the last line ran', {}, 3000, view('JOB_STATE_SUCCEEDED', 1000, 3000, 20)],
  ['a failing job is pending, then failed when validation ends', { fails: true, total: 0 }, 1000, view('JOB_STATE_FAILED', null, 1000, 0)],
  ['cancelled while running: cancelling, with the lines answered by the cancel', { cancelMs: 2000 }, 2499, view('JOB_STATE_CANCELLING', 1000, null, 10)],
  ['then cancelled after the cancelling time, still those lines', { cancelMs: 2000 }, 9000, view('JOB_STATE_CANCELLED', 1000, 2500, 10)],
  ['cancelled while pending: no line ran, never started', { cancelMs: 200 }, 9000, view('JOB_STATE_CANCELLED', null, 700, 0)],
  ['a cancel taken before a failure came wins over it', { fails: true, total: 0, cancelMs: 200 }, 9000, view('JOB_STATE_CANCELLED', null, 700, 0)],
  ['expired while running: the lines answered by the expiry', { expiresMs: 2200 }, 2200, view('JOB_STATE_EXPIRED', 1000, 2200, 12)],
  ['expired before it started', { expiresMs: 500 }, 600, view('JOB_STATE_EXPIRED', null, 500, 0)],
  ['an expiry after the last line changes nothing', { expiresMs: 3000 }, 5000, view('JOB_STATE_SUCCEEDED', 1000, 3000, 20)],
])('%s', (_name, overrides, t, expected) => {
  expect(derive({ ...JOB, ...overrides }, t, TIMING)).toEqual(expected);
});
