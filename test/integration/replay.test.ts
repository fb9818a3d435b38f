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

test('histories are committed for the main batch outcomes', () => {
  expect(files).toEqual(expect.arrayContaining(['cancelled.json', 'completed.json', 'expired.json', 'failed-validation.json', 'worker-killed-twice.json']));
});

test.each(files)('%s replays without nondeterminism', async (file) => {
  const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../src/workflows') }, history, path.basename(file, '.json'));
});
