/**
 * Moonshot (Kimi) end to end: the OpenAI adapter configured for Moonshot (src/providers/moonshot) against the
 * sandbox's moonshot module at `/moonshot/v1`: the standard cases of test/support/provider-suite.ts through the
 * public API and the CLI, plus what is Moonshot's own (windows from 12h to 7d).
 */
import { createBatch } from '../../src';
import { providerSuite } from '../support/provider-suite';

const suite = providerSuite('moonshot', {
  model: 'kimi-k2.5',
  validationFailure: { status: 'failed' },
  // Moonshot takes 12h to 7d.
  refusedWindow: '8d',
});

describe("moonshot's own rules", () => {
  test.each(['12h', '3d'])('a completion window of %s is taken by Moonshot', async (window) => {
    const created = await createBatch('moonshot', suite.input(2), '/v1/chat/completions', suite.opts({ completionWindow: window }));
    expect(created.completion_window).toBe(window);
    const done = await suite.untilTerminal(created.id);
    expect(done.status).toBe('completed');
    suite.accountFor(done, 2);
  });
});
