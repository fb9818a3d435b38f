/**
 * Replays committed histories of real batches (completed, cancelled, expired, failed validation, transient
 * faults, worker killed twice, an inline provider's batch) against the current workflow code: a change that would
 * break batches already running fails here. Intentional changes use `patched()`, then record new histories.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from '../support/histories';
import { quietRuntime } from '../support/env';

const files = fs.existsSync(HISTORIES_DIR) ? fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort() : [];

beforeAll(() => quietRuntime());

// Three generations of the first workflow (`batchWorkflow`, frozen in src/workflows/legacy/), each replayed by today's
// code, and the job workflow's (`job-*`):
// - `v0-*`: batches that ran before OUTCOME_PATCH (their workflows completed whatever the batch did);
// - `v1-*`: with it (failed and expired batches fail their workflow, cancelled ones end cancelled), from before the
//   typed prepared reference (`uploadPart` returned `{ fileId }`, a file id or null for inline input);
// - the rest: today's (`uploadPart` returns a `PreparedInput`).
const OUTCOMES = ['cancelled', 'completed', 'expired', 'failed-validation', 'worker-killed-twice'];
const SINCE_V1 = ['failed-unreachable', 'cancelled-by-signal', 'anthropic-completed'];
// Batches that resubmit failed requests (RETRY_PATCH): retry rounds run to the end, and a cancel during a round.
const RETRY_FAILED = ['retry-failed', 'retry-failed-cancelled'];
// Parts refused for a queue limit and submitted again, and a part failed for size and re-split (RESUBMIT_PATCH).
const RESUBMITTED = ['queue-limit-resubmitted', 'resplit-too-large'];
// The admission workflow (src/workflows/admission.ts): grants, a queued request, releases; and a batch whose part
// waited for admission before its create, then released each share as its provider batch ended (ADMISSION_PATCH).
const ADMISSION = ['admission-fifo', 'admission-queued'];
// Online batches of the openai-compatible provider (src/workflows/online.ts): run to the end, and cancelled.
const ONLINE = ['online-completed', 'online-cancelled'];
// The job workflow (`batchJob`, src/workflows/batch-job.ts), which new batches start: each outcome and path above.
const JOB = [
  'completed',
  'cancelled',
  'expired',
  'failed-validation',
  'transient-faults',
  'worker-killed-twice',
  'failed-unreachable',
  'cancelled-by-signal',
  'anthropic-completed',
  'retry-failed',
  'retry-failed-cancelled',
  'queue-limit-resubmitted',
  'resplit-too-large',
  'admission-queued',
];

test('histories are committed for the main batch outcomes, from each generation of the workflow', () => {
  const names = [...OUTCOMES.flatMap((o) => [`${o}.json`, `v0-${o}.json`, `v1-${o}.json`]), ...SINCE_V1.flatMap((o) => [`${o}.json`, `v1-${o}.json`]), ...[...RETRY_FAILED, ...RESUBMITTED, ...ADMISSION, ...ONLINE].map((o) => `${o}.json`), ...JOB.map((o) => `job-${o}.json`)];
  expect(files).toEqual(expect.arrayContaining(names));
});

test.each(files)('%s replays without nondeterminism', async (file) => {
  const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../src/workflows') }, history, path.basename(file, '.json'));
});
