/**
 * Alibaba Model Studio (DashScope's OpenAI-compatible mode) end to end: the OpenAI adapter configured for DashScope
 * (src/providers/dashscope) against the sandbox's dashscope module at `/dashscope/compatible-mode/v1`: the standard
 * cases of test/support/provider-suite.ts through the public API and the CLI, plus what is DashScope's own (windows
 * from 24h to 336h).
 */
import { createBatch } from '../../src';
import { providerSuite } from '../support/provider-suite';

const suite = providerSuite('dashscope', {
  model: 'qwen-plus',
  validationFailure: { status: 'failed' },
  // DashScope takes 24h to 336h (14 days).
  refusedWindow: '360h',
});

describe("dashscope's own rules", () => {
  test('a completion window up to 336h (14 days) is taken by DashScope', async () => {
    const created = await createBatch('dashscope', suite.input(3), '/v1/chat/completions', suite.opts({ completionWindow: '336h' }));
    expect(created.completion_window).toBe('336h');
    const done = await suite.untilTerminal(created.id);
    expect(done.status).toBe('completed');
    suite.accountFor(done, 3);
  });
});
