/**
 * Replays committed histories of real batches (completed, cancelled, expired, failed validation,
 * transient faults, worker killed twice) against the current workflow code: a change that would break
 * batches already running fails here. Intentional changes use `patched()`, then record new histories.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from '../support/histories';
import { quietRuntime } from '../support/env';

const files = fs.existsSync(HISTORIES_DIR) ? fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort() : [];

beforeAll(() => quietRuntime());

// `v0-*`: batches that ran before OUTCOME_PATCH (their workflows completed whatever the batch did); the others ran
// with it (failed and expired batches fail their workflow, cancelled ones end cancelled).
const OUTCOMES = ['cancelled', 'completed', 'expired', 'failed-validation', 'worker-killed-twice'];

test('histories are committed for the main batch outcomes, from before and after the outcome patch', () => {
  const names = OUTCOMES.flatMap((o) => [`${o}.json`, `v0-${o}.json`]);
  expect(files).toEqual(expect.arrayContaining([...names, 'failed-unreachable.json', 'cancelled-by-signal.json']));
});

test.each(files)('%s replays without nondeterminism', async (file) => {
  const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../src/workflows') }, history, path.basename(file, '.json'));
});
