/**
 * Groq end to end: the OpenAI adapter configured for Groq (src/providers/groq) against the sandbox's Groq module
 * at `/groq/openai/v1`: the standard cases of test/support/provider-suite.ts through the public API and the CLI,
 * plus what is Groq's own (windows up to 7d, a base URL without /openai/v1, no one-model rule).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createBatch } from '../../src';
import { writeChatInput } from '../support/env';
import { providerSuite } from '../support/provider-suite';

const suite = providerSuite('groq', {
  model: 'llama-3.1-8b-instant',
  validationFailure: { status: 'failed' },
  // Groq takes windows up to 7d.
  refusedWindow: '30d',
});

describe("groq's own rules", () => {
  test('a completion window up to 7d is accepted by Groq', async () => {
    const created = await createBatch('groq', suite.input(3), '/v1/chat/completions', suite.opts({ completionWindow: '7d' }));
    expect(created.completion_window).toBe('7d');
    const done = await suite.untilTerminal(created.id);
    expect(done.status).toBe('completed');
    suite.accountFor(done, 3);
  });

  test('the base URL may leave out /openai/v1, as GROQ_BASE_URL does for groq-sdk', async () => {
    const env = suite.env();
    const created = await createBatch('groq', writeChatInput(env.home, 2), '/v1/chat/completions', suite.opts({ apiBase: `${env.sandbox.url}/groq` }));
    expect((await suite.untilTerminal(created.id)).status).toBe('completed');
  });

  test('mixed models are not refused up front (Groq documents no one-model rule): the provider decides, and every id is accounted for', async () => {
    const env = suite.env();
    const a = writeChatInput(env.home, 2, { model: 'llama-3.1-8b-instant', prefix: 'req' });
    const b = writeChatInput(env.home, 1, { model: 'llama-3.3-70b-versatile', prefix: 'other' });
    const file = path.join(env.home, 'mixed.jsonl');
    fs.writeFileSync(file, fs.readFileSync(a, 'utf8') + fs.readFileSync(b, 'utf8').replace('other-0', 'req-2'));
    const before = suite.created();
    const done = await suite.untilTerminal((await createBatch('groq', file, '/v1/chat/completions', suite.opts())).id);
    expect(suite.created()).toBe(before + 1);
    expect(['completed', 'failed']).toContain(done.status);
    suite.accountFor(done, 3);
  });
});
