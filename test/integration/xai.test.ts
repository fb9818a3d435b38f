/**
 * xAI end to end: the xAI adapter (src/providers/xai: the `openai` client's `files.create` and generic calls on
 * xAI's own batch endpoints) against the sandbox's xai module at `/xai/v1`, on the run's Temporal server: the
 * standard cases of test/support/provider-suite.ts through the public API and the CLI (xAI has no failed status:
 * a batch failed at validation ends completed, every request with its error), and what is xAI's own (the
 * idempotency key in `name`, per-request errors, a retried create finding its batch by name).
 */
import fs from 'node:fs';
import OpenAI from 'openai';
import { createBatch } from '../../src';
import { getAdapter } from '../../src/providers/registry';
import { providerSuite } from '../support/provider-suite';

const suite = providerSuite('xai', {
  model: 'grok-4-fast',
  validationFailure: { status: 'completed', requestStatus: 400 },
  // xAI takes 24h only.
  refusedWindow: '48h',
  happyPath: {
    // At xAI the batch is named by its idempotency key and the part's run nonce.
    async check({ env, created, done }) {
      const xai = new OpenAI({ baseURL: env.sandbox.baseUrls.xai, apiKey: 'k' });
      const remote = await xai.get<{ name: string }>(`/batches/${done.anybatch.provider_batches[0].id}`);
      expect(remote.name).toMatch(new RegExp(`^anybatch:${created.id}/0#[0-9a-f]{20}$`));
    },
  },
});

describe("xai's own", () => {
  test('per-request errors are error lines with their status, the rest succeed', async () => {
    const file = suite.input(3, 'mix');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    lines[1].body.sandbox_error = 429;
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const done = await suite.untilTerminal((await createBatch('xai', file, '/v1/chat/completions', suite.opts())).id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 3, completed: 2, failed: 1 });
    const { errors } = suite.accountFor(done, 3, 'mix');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ custom_id: 'mix-1', response: { status_code: 429, body: { error: { code: '8', message: expect.stringContaining('sandbox_error=429') } } } });
  });

  test('a retried create finds the batch an earlier attempt made, by its name, instead of making another', async () => {
    const env = suite.env();
    const adapter = getAdapter('xai');
    const conn = { apiKey: 'xai-test-key', apiBase: env.sandbox.baseUrls.xai };
    const file = suite.input(2, 'idem');
    const providerInput = {
      path: file,
      requestCount: 2,
      bytes: fs.statSync(file).size,
      idempotencyKey: 'ab_idem/0',
      notBefore: Math.floor(Date.now() / 1000) - 5,
      endpoint: '/v1/chat/completions',
      options: {},
      workDir: env.home,
    };
    const prepared = await adapter.prepareInput(conn, providerInput);
    const request = { input: providerInput, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null };
    const before = suite.created();
    const first = await adapter.createBatch(conn, request);
    const second = await adapter.createBatch(conn, request);
    expect(second.id).toBe(first.id);
    expect(suite.created()).toBe(before + 1);
  });
});
