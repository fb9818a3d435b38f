/**
 * A 24-hour batch polled every 30 s, on the time-skipping test server: history stays bounded because
 * the workflow continues as new, and the batch still completes with every request accounted for.
 * The sandbox's clock follows the test server's (skipped) clock, so the provider side ages too.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import type { BatchActivities } from '../../src/contract/activities';
import { startSandbox } from '../../src/sandbox';
import type { Sandbox } from '../../src/sandbox';
import { findTool } from '../../src/temporal/tools';
import { batchWorkflow } from '../../src/workflows';
import type { BatchSpec } from '../../src/contract/spec';
import { LocalBlobStore } from '../../src/storage';
import { newStagedKeys } from '../../src/storage/layout';
import { quietRuntime, readJsonl, writeChatInput } from '../support/env';

const REQUESTS = 1000;
const DAY_S = 24 * 3600;

let env: TestWorkflowEnvironment;
let sandbox: Sandbox;
let clock = 0;
let dir: string;

beforeAll(async () => {
  quietRuntime();
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: findTool('temporal-test-server') } },
  });
  clock = await env.currentTimeMs();
  // The whole batch takes about 23.5 hours of provider time.
  sandbox = await startSandbox({ rate: REQUESTS / (DAY_S - 1800), validationMs: 60_000, finalizingMs: 60_000, now: () => clock });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-long-'));
  process.env.OPENAI_API_KEY = 'test-key';
  // The spec carries no key of its own: the worker's goes to the sandbox only because it is allowed.
  process.env.ANYBATCH_ALLOWED_API_BASES = `${sandbox.url}/v1`;
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
  await env?.teardown();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The real activities, with the sandbox's clock moved to the test server's time before each call. */
function activitiesOnServerTime(): BatchActivities {
  const real = createActivities({ store: new LocalBlobStore(dir), home: dir });
  const wrapped = {} as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const [name, fn] of Object.entries(real) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    wrapped[name] = async (...args) => {
      clock = Math.max(clock, await env.currentTimeMs());
      return fn(...args);
    };
  }
  return wrapped as unknown as BatchActivities;
}

test('a 24-hour batch polled every 30 s keeps each run short (continue-as-new) and completes', async () => {
  // Staged as createBatch stages it (a run folder of the batch's own in the worker's store, here the folder `dir`).
  const input = writeChatInput(dir, REQUESTS);
  const store = new LocalBlobStore(dir);
  const keys = newStagedKeys('ab_long_poll');
  await store.put(keys.input, fs.readFileSync(input));
  await store.put(keys.ids, readJsonl<{ custom_id: string }>(input).map((l) => JSON.stringify(l.custom_id) + '\n').join(''));
  const spec: BatchSpec = {
    batchId: 'ab_long_poll',
    provider: 'openai',
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: null,
    createdAt: Math.floor(clock / 1000),
    input: { path: store.pathOf(keys.input), requestCount: REQUESTS, bytes: fs.statSync(input).size, model: 'gpt-4o-mini' },
    resultsDir: store.pathOf('results/ab_long_poll'),
    storage: { uri: store.rootUri(), inputKey: keys.input, resultsPrefix: 'results/ab_long_poll/' },
    pollIntervalMs: 30_000,
    connection: { apiBase: `${sandbox.url}/v1`, sealed: null },
    maxRequestsPerPart: null,
    providerOptions: {},
    searchAttributes: false,
  };
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'long-poll',
    workflowsPath: require.resolve('../../src/workflows'),
    activities: activitiesOnServerTime(),
  });
  const started = await env.currentTimeMs();
  const result = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(batchWorkflow, { workflowId: spec.batchId, taskQueue: 'long-poll', args: [{ spec }] });
    const batch = await handle.result();
    // Walk the chain of runs from the first one and measure each run's history.
    const lengths: number[] = [];
    let runId: string | undefined = handle.firstExecutionRunId;
    while (runId) {
      const history: { events?: { workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId?: string | null } | null }[] | null } = await env.client.workflow.getHandle(spec.batchId, runId).fetchHistory();
      const events = history.events ?? [];
      lengths.push(events.length);
      runId = events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    return { batch, lengths };
  });

  const elapsedHours = ((await env.currentTimeMs()) - started) / 3_600_000;
  expect(elapsedHours).toBeGreaterThan(23);
  expect(result.batch.status).toBe('completed');
  expect(result.lengths.length).toBeGreaterThan(1);
  expect(Math.max(...result.lengths)).toBeLessThan(5_000);
  const total = result.lengths.reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThan(2 * DAY_S / 30); // it really polled every 30 s all day
  const ids = readJsonl<{ custom_id: string }>(result.batch.anybatch.results!.output_path).map((l) => l.custom_id);
  expect(new Set(ids).size).toBe(REQUESTS);
}, 600_000);
