/**
 * Many batches (some split) while the worker is SIGKILLed at random moments and Temporal restarts once on
 * the same database: nothing is lost, nothing is duplicated, nothing is left running. The full-size run is
 * `npm run durability`.
 */
import { runDurability } from '../../bench/durability';
import { quietRuntime } from '../support/env';

beforeAll(() => quietRuntime());

test('batches survive repeated worker kills and a Temporal restart with every request exactly once', async () => {
  const report = await runDurability({
    batches: 6,
    minRequests: 10,
    maxRequests: 100,
    partSize: 40,
    killEveryMs: [1000, 3000],
    chaosMs: 20_000,
    seed: 7,
    log: (line) => process.stderr.write(`durability: ${line}\n`),
  });
  process.stderr.write(`durability report: ${JSON.stringify(report)}\n`);
  expect(report.workerKills).toBeGreaterThanOrEqual(5);
  expect(report.temporalRestarts).toBe(1);
  expect(report.statuses).toEqual({ completed: 6 });
  expect(report.providerBatchesCreated).toBe(report.providerBatchesExpected);
  expect(report.missingIds).toBe(0);
  expect(report.duplicateIds).toBe(0);
  expect(report.stillRunning).toBe(0);
}, 900_000);
