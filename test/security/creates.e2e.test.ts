/**
 * Issue 17 §2, end to end: through the public API, the workflow and the worker's activities (their own retries),
 * each provider's batch split into two parts of equal size, and the sandbox losing the answers of both parts' first
 * creates after making their batches (`loseCreateResponses`). Every batch ends completed with exactly one provider
 * batch per part, and every request answered once, from its own prompt. (The adapter-level cases, strangers and
 * earlier runs included, are in creates.test.ts.)
 */
import { createBatch, retrieveBatch } from '../../src';
import type { AnybatchBatch, ResultLine } from '../../src';
import type { SandboxProviderName } from '../../src/sandbox';
import { eventually, readJsonl, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';

const MODELS = {
  openai: 'gpt-4o-mini',
  azureopenai: 'gpt-4o-mini-batch',
  groq: 'llama-3.1-8b-instant',
  mistral: 'mistral-small-latest',
  together: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
  gemini: 'gemini-2.5-flash',
  xai: 'grok-4-fast',
  anthropic: 'claude-sonnet-4-5',
} as const;
type Provider = keyof typeof MODELS;

let env: TestEnv;
beforeAll(async () => {
  env = await startTestEnv({ rate: 100 });
});
afterAll(async () => env?.teardown());
afterEach(() => env.sandbox.setFaults({}));

async function untilTerminal(provider: Provider, id: string): Promise<AnybatchBatch> {
  return eventually(async () => {
    const b = await retrieveBatch(provider, id, env.options);
    return ['completed', 'failed', 'expired', 'cancelled'].includes(b.status) ? b : null;
  }, 120_000);
}

test.each(Object.keys(MODELS) as Provider[])('%s: lost create answers for two equal-size parts leave one provider batch per part, every request answered once', async (provider) => {
  const n = 8;
  const input = writeChatInput(env.home, n, { prefix: provider, model: MODELS[provider] });
  const before = env.sandbox.stats();
  env.sandbox.setFaults({ loseCreateResponses: 2 });
  const created = await createBatch(provider, input, '/v1/chat/completions', {
    ...env.options,
    apiBase: env.sandbox.baseUrls[provider as SandboxProviderName],
    apiKey: `${provider}-test-key`,
    pollInterval: '200ms',
    maxRequestsPerPart: n / 2,
    noWait: true,
  } as Parameters<typeof createBatch>[3]);
  const done = await untilTerminal(provider, created.id);
  expect(done.status).toBe('completed');
  const after = env.sandbox.stats();
  expect(after.faults.lostCreates - before.faults.lostCreates).toBe(2);
  expect(after.providers[provider].batchesCreated - before.providers[provider].batchesCreated).toBe(2);
  expect(done.anybatch.provider_batches).toHaveLength(2);
  expect(new Set(done.anybatch.provider_batches.map((b) => b.id)).size).toBe(2);
  expect(done.request_counts).toEqual({ total: n, completed: n, failed: 0 });
  const output = readJsonl<ResultLine>(done.anybatch.results!.output_path);
  expect(output.map((l) => l.custom_id).sort()).toEqual(Array.from({ length: n }, (_, i) => `${provider}-${i}`).sort());
  for (const line of output) {
    const i = Number(line.custom_id.split('-').pop());
    expect(JSON.stringify(line.response)).toContain(`Question number ${i}: what is ${i} + ${i}?`);
  }
});
