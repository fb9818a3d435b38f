/**
 * Gemini end to end: the adapter (src/providers/gemini, through `@google/genai`) against the sandbox's Gemini module
 * at `/gemini`, on the run's Temporal server: the standard cases of test/support/provider-suite.ts through the
 * public API and the CLI (the happy path inline: nothing uploaded), and what is Gemini's own: file mode (resumable
 * upload), a model the provider does not have, a request that cannot be translated.
 */
import fs from 'node:fs';
import { createBatch } from '../../src';
import { providerSuite } from '../support/provider-suite';

const MODEL = 'gemini-2.5-flash';
const suite = providerSuite('gemini', {
  model: MODEL,
  validationFailure: { status: 'failed' },
  // Gemini takes 24h only.
  refusedWindow: '48h',
  happyPath: {
    check({ env, created, before }) {
      expect(created.anybatch.provider_batches[0].id).toMatch(/^batches\/[a-z0-9]+$/);
      // Inline: nothing uploaded.
      expect(env.sandbox.stats().providers.gemini.filesCreated).toBe(before.filesCreated);
    },
  },
});
const gemini = () => suite.env().sandbox.stats().providers.gemini;

describe("gemini's own", () => {
  test('above the inline limit the requests are uploaded (resumable) and read back from the results file', async () => {
    const before = gemini();
    const created = await createBatch('gemini', suite.input(30), '/v1/chat/completions', suite.opts({ maxInlineBytes: 1000 }));
    expect(gemini().filesCreated).toBe(before.filesCreated + 1);
    const done = await suite.untilTerminal(created.id);
    expect(done.status).toBe('completed');
    expect(done.anybatch.provider_batches[0]).toBeTruthy();
    const { output } = suite.accountFor(done, 30);
    expect(output).toHaveLength(30);
    // One upload, never repeated; the batch read the file and wrote a results file.
    expect(gemini().filesCreated).toBe(before.filesCreated + 1);
    const op = (await (await fetch(`${suite.env().sandbox.baseUrls.gemini}/v1beta/${done.anybatch.provider_batches[0].id}`, { headers: { 'x-goog-api-key': 'k' } })).json()) as {
      metadata: { inputConfig?: { fileName?: string }; output?: { responsesFile?: string } };
    };
    expect(op.metadata.inputConfig?.fileName).toMatch(/^files\//);
    expect(op.metadata.output?.responsesFile).toMatch(/^files\//);
  });

  test('a model the provider does not have fails the create at once (not_found)', async () => {
    suite.env().sandbox.setFaults({ models: ['gemini-2.5-pro'] });
    const err = await createBatch('gemini', suite.input(3), '/v1/chat/completions', suite.opts()).catch((e: unknown) => e);
    // not_found is permanent: no retries, the create fails with Gemini's message naming the URL.
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/models\/gemini-2\.5-flash is not found/);
    expect((err as Error).message).toContain('/gemini/v1beta/models/gemini-2.5-flash:batchGenerateContent');
  });

  test('a request that cannot be translated is refused on its line before anything starts', async () => {
    const file = suite.input(2);
    fs.appendFileSync(file, JSON.stringify({ custom_id: 'bad', method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: true } }) + '\n');
    const before = gemini().batchesCreated;
    await expect(createBatch('gemini', file, '/v1/chat/completions', suite.opts())).rejects.toMatchObject({ code: 'invalid_input' });
    expect(gemini().batchesCreated).toBe(before);
  });
});
