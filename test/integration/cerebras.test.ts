/**
 * Cerebras end to end: the OpenAI adapter configured for Cerebras (src/providers/cerebras: `DELETE` cancel, the
 * `queued` status read as in_progress, a base URL with or without /v1) against the sandbox's cerebras module at
 * `/cerebras/v1` (which has no `POST .../cancel`, shows `queued`, and fails a batch of fewer than 10 requests): the
 * standard cases of test/support/provider-suite.ts through the public API and the CLI, plus what is Cerebras's own.
 */
import { cancelBatch, createBatch } from '../../src';
import { eventually, writeChatInput } from '../support/env';
import { providerSuite } from '../support/provider-suite';

const MODEL = 'llama3.1-8b';
const suite = providerSuite('cerebras', {
  model: MODEL,
  validationFailure: { status: 'failed' },
  // Cerebras takes 24h only.
  refusedWindow: '48h',
  // Cerebras takes no batch of fewer than 10 requests: the CLI's split parts are 10 each.
  cliSplit: { requests: 30, perPart: 10 },
});

const stats = () => suite.env().sandbox.stats().providers.cerebras!;

describe("cerebras's own rules", () => {
  test('a cancel is a DELETE of the batch (Cerebras has no POST .../cancel): partial results, the rest batch_cancelled', async () => {
    const env = suite.env();
    const created = await createBatch('cerebras', suite.input(2000, 'del'), '/v1/chat/completions', suite.opts());
    const providerId = created.anybatch.provider_batches[0].id;
    // The sandbox answers Cerebras's routes only: POST .../cancel is not one.
    const post = await fetch(`${env.sandbox.baseUrls.cerebras}/batches/${providerId}/cancel`, { method: 'POST', headers: { authorization: 'Bearer k' } });
    expect(post.status).toBe(404);
    await eventually(async () => (await fetch(`${env.sandbox.baseUrls.cerebras}/batches/${providerId}`, { headers: { authorization: 'Bearer k' } }).then((r) => r.json() as Promise<{ request_counts: { completed: number } }>)).request_counts.completed > 0, 30_000, 50);
    const before = stats().batchCancels;
    const cancelled = await cancelBatch('cerebras', created.id, { ...env.options, wait: true });
    expect(cancelled.status).toBe('cancelled');
    expect(stats().batchCancels).toBe(before + 1);
    const { errors } = suite.accountFor(cancelled, 2000, 'del');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
  });

  test("a batch under Cerebras's minimum of 10 requests is refused before anything starts (Cerebras would fail it)", async () => {
    const before = stats().batchesCreated;
    const err = await createBatch('cerebras', suite.input(5, 'few'), '/v1/chat/completions', suite.opts()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_input' });
    expect((err as Error).message).toContain('5 requests, fewer than the 10 cerebras takes in one batch');
    expect(stats().batchesCreated).toBe(before);
  });

  test('an input split for Cerebras is cut into even parts, none under its minimum of 10', async () => {
    // 32 requests at most 12 a part: 11 + 11 + 10, where full parts would be 12 + 12 + 8 and Cerebras would fail the 8.
    const created = await createBatch('cerebras', suite.input(32, 'even'), '/v1/chat/completions', suite.opts({ maxRequestsPerPart: 12 }));
    expect(created.anybatch.provider_batches).toHaveLength(3);
    const done = await suite.untilTerminal(created.id);
    expect(done.status).toBe('completed');
    suite.accountFor(done, 32, 'even');
    expect(done.anybatch.provider_batches.map((b) => b.request_counts?.total)).toEqual([11, 11, 10]);
  });

  test('the base URL may leave out /v1, as CEREBRAS_BASE_URL does for cerebras_cloud_sdk', async () => {
    const env = suite.env();
    const created = await createBatch('cerebras', writeChatInput(env.home, 10, { model: MODEL }), '/v1/chat/completions', suite.opts({ apiBase: `${env.sandbox.url}/cerebras` }));
    expect((await suite.untilTerminal(created.id)).status).toBe('completed');
  });
});
