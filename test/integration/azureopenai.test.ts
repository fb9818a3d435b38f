/**
 * Azure OpenAI Global Batch end to end: the OpenAI adapter configured for Azure (src/providers/azureopenai: the
 * `AzureOpenAI` client, `api-key`, `api-version`, no deployment path) against the sandbox's Azure module: the
 * standard cases of test/support/provider-suite.ts through the public API and the CLI, plus what is Azure's own
 * (one deployment per batch, the v1 API, results in any order, `apiVersion`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BatchFailedError, InputValidationError, createBatch } from '../../src';
import { writeChatInput } from '../support/env';
import { providerSuite } from '../support/provider-suite';

const DEPLOYMENT = 'gpt-4o-mini-batch';
const suite = providerSuite('azureopenai', {
  model: DEPLOYMENT,
  validationFailure: { status: 'failed' },
  // Global Batch takes 24h only.
  refusedWindow: '30d',
});

describe("azureopenai's own rules", () => {
  test('every line must name the same deployment: mixed models are refused before anything starts', async () => {
    const env = suite.env();
    const a = writeChatInput(env.home, 2, { model: DEPLOYMENT, prefix: 'a' });
    const b = writeChatInput(env.home, 1, { model: 'another-deployment', prefix: 'b' });
    const file = path.join(env.home, 'mixed.jsonl');
    fs.writeFileSync(file, fs.readFileSync(a, 'utf8') + fs.readFileSync(b, 'utf8'));
    const before = suite.created();
    const err = await createBatch('azureopenai', file, '/v1/chat/completions', suite.opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputValidationError);
    expect((err as InputValidationError).issues).toEqual([
      { line: 3, field: 'body.model', message: `model "another-deployment" differs from "${DEPLOYMENT}" on line 1 (azureopenai takes one model per batch)` },
    ]);
    expect(suite.created()).toBe(before);
  });

  test('the v1 API (a base URL ending in /openai/v1) runs a batch too', async () => {
    const env = suite.env();
    const created = await createBatch('azureopenai', suite.input(5), '/v1/chat/completions', suite.opts({ apiBase: `${env.sandbox.baseUrls.azureopenai}/openai/v1` }));
    const done = await suite.untilTerminal(created.id);
    expect(done.status).toBe('completed');
    suite.accountFor(done, 5);
  });

  test('results in no particular order still come back under every custom_id once', async () => {
    const done = await suite.untilTerminal((await createBatch('azureopenai', suite.input(40), '/v1/chat/completions', suite.opts())).id);
    const { output } = suite.accountFor(done, 40);
    // Azure's output came in another order than the input's (the sandbox shuffles it, as Azure may): anybatch
    // matches lines by custom_id, never by position.
    expect(output.map((l) => l.custom_id)).not.toEqual(Array.from({ length: 40 }, (_, i) => `req-${i}`));
  });

  test('the apiVersion option is sent on every request: one Azure does not know fails the batch at once', async () => {
    const err = await createBatch('azureopenai', suite.input(2), '/v1/chat/completions', suite.opts({ apiVersion: 'latest', retryTimeout: '5s' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchFailedError);
    expect((err as Error).message).toMatch(/Azure OpenAI rejected the request \(400.*API version not supported/);
  });
});
