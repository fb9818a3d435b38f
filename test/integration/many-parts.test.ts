/**
 * A batch of 500 parts, with search attributes on, against the real dev server: Temporal refuses a search attribute
 * value over 2 KB (and terminates the workflow that sent one), which 50 provider batch ids used to pass. The batch
 * completes with every request once, its provider batch id list is bounded and `AnybatchParts` counts every part,
 * and its history continued as new on the way (500 parts write more than one run's worth of events).
 */
import { createBatch, retrieveBatch } from '../../src';
import type { AnybatchBatch } from '../../src';
import { BATCH_COMPLETED, BATCH_PARTS, BATCH_PROVIDER_IDS } from '../../src/contract/search-attributes';
import { accountFor } from '../support/batches';
import { eventually, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ rate: 1000, validationMs: 20, finalizingMs: 20 });
});
afterAll(async () => env?.teardown());

test('500 parts complete, with bounded search attributes, across continue-as-new', async () => {
  const n = 500;
  const created = await createBatch('openai', writeChatInput(env.home, n, { prefix: 'm' }), '/v1/chat/completions', {
    ...env.options,
    apiBase: env.apiBase,
    apiKey: 'k',
    pollInterval: '200ms',
    maxRequestsPerPart: 1,
    submitConcurrency: 16,
    searchAttributes: true,
  });
  const done = await eventually(async () => {
    const b = await retrieveBatch('openai', created.id, env.options);
    return ['completed', 'failed', 'expired', 'cancelled'].includes(b.status) ? b : null;
  }, 280_000, 500) as AnybatchBatch;
  expect(done.status).toBe('completed');
  expect(done.request_counts).toEqual({ total: n, completed: n, failed: 0 });
  expect(done.anybatch.provider_batches).toHaveLength(n);
  accountFor(done, n, 'm');

  const description = await env.client.workflow.getHandle(created.id).describe();
  const attrs = description.typedSearchAttributes;
  const ids = attrs.get(BATCH_PROVIDER_IDS) ?? [];
  expect(ids.length).toBeGreaterThan(0);
  expect(ids.length).toBeLessThan(n);
  expect(Buffer.byteLength(JSON.stringify(ids))).toBeLessThanOrEqual(2048);
  expect(attrs.get(BATCH_PARTS)).toBe(n);
  expect(attrs.get(BATCH_COMPLETED)).toBe(n);
  // The first run handed over to a later one: history stays bounded however many parts there are.
  expect(description.raw.workflowExecutionInfo?.firstRunId).toBeTruthy();
  expect(description.runId).not.toBe(description.raw.workflowExecutionInfo?.firstRunId);
}, 300_000);
