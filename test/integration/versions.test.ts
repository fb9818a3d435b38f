/**
 * Batches started on the frozen first workflow (`batchWorkflow`) finish on a worker that carries both it and the job
 * workflow (`batchJob`): a worker of the previous release (the old workflow only) runs a batch until its provider
 * batch is in progress, stops, and today's worker takes it to the end beside a new batch on `batchJob`. Every
 * request is accounted for in both, and the client finds, lists and cancels batches of either type.
 */
import { createBatch, listBatches, retrieveBatch } from '../../src/api';
import { LEGACY_BATCH_WORKFLOW_TYPE, BATCH_WORKFLOW_TYPE } from '../../src/contract/messages';
import { createWorker } from '../../worker';
import { accountFor, untilTerminalBatch } from '../support/batches';
import { eventually, startTestEnv, writeChatInput, type TestEnv } from '../support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ rate: 20 }, { worker: false });
});

afterAll(async () => {
  delete process.env.ANYBATCH_WORKFLOW_TYPE;
  await env.teardown();
});

test('a batch started on the old workflow finishes on a worker carrying both, beside a new one', async () => {
  // The previous release's worker: the old workflow only.
  const old = await createWorker({ address: env.address, taskQueue: env.taskQueue, worker: { workflowsPath: require.resolve('./legacy-workflows'), workflowBundle: undefined, shutdownGraceTime: '1s' } });
  const oldRun = old.run();
  process.env.ANYBATCH_WORKFLOW_TYPE = LEGACY_BATCH_WORKFLOW_TYPE;
  const legacy = await createBatch('openai', writeChatInput(env.home, 200, { prefix: 'old' }), '/v1/chat/completions', { ...env.options, apiBase: env.apiBase, apiKey: 'test-key', pollInterval: '300ms' });
  delete process.env.ANYBATCH_WORKFLOW_TYPE;
  expect((await env.client.workflow.getHandle(legacy.id).describe()).type).toBe(LEGACY_BATCH_WORKFLOW_TYPE);
  await eventually(async () => (await retrieveBatch('openai', legacy.id, env.options)).status === 'in_progress', 30_000);
  old.shutdown();
  await oldRun;

  // Today's worker: both workflows. A new batch starts on the job workflow.
  await env.startWorker();
  const fresh = await createBatch('openai', writeChatInput(env.home, 50, { prefix: 'new' }), '/v1/chat/completions', { ...env.options, apiBase: env.apiBase, apiKey: 'test-key', pollInterval: '300ms' });
  expect((await env.client.workflow.getHandle(fresh.id).describe()).type).toBe(BATCH_WORKFLOW_TYPE);

  const [a, b] = await Promise.all([untilTerminalBatch('openai', legacy.id, env.options), untilTerminalBatch('openai', fresh.id, env.options)]);
  expect(a.status).toBe('completed');
  expect(b.status).toBe('completed');
  accountFor(a, 200, 'old');
  accountFor(b, 50, 'new');
  const listed = (await listBatches('openai', { ...env.options, limit: 100 })).map((x) => x.id);
  expect(listed).toEqual(expect.arrayContaining([legacy.id, fresh.id]));
});

test('ANYBATCH_WORKFLOW_TYPE naming no batch workflow is a usage error before anything starts', async () => {
  process.env.ANYBATCH_WORKFLOW_TYPE = 'nope';
  try {
    await expect(createBatch('openai', writeChatInput(env.home, 1), '/v1/chat/completions', { ...env.options, apiBase: env.apiBase, apiKey: 'test-key' })).rejects.toThrow(/ANYBATCH_WORKFLOW_TYPE=nope is not a batch workflow type/);
  } finally {
    delete process.env.ANYBATCH_WORKFLOW_TYPE;
  }
});
