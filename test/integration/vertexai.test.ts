/**
 * Vertex AI end to end: the adapter (src/providers/vertexai: `@google/genai` in Vertex mode, Cloud Storage over its
 * JSON API) against the sandbox's vertexai module at `/vertexai` and its Cloud Storage at `/gcs` (found through
 * STORAGE_EMULATOR_HOST, as Google's libraries find an emulator), on the run's Temporal server: the standard cases of
 * test/support/provider-suite.ts through the public API and the CLI, and what is Vertex's own: the lines and
 * predictions where Vertex puts them, numeric job ids, the bearer-token path, a model Vertex does not have, an output
 * prefix the worker was not allowed.
 */
import { randomUUID } from 'node:crypto';
import { createBatch } from '../../src';
import { providerSuite } from '../support/provider-suite';

const MODEL = 'gemini-2.5-flash';
const BUCKET = 'anybatch-sandbox';
const root = `vertex-e2e/${randomUUID()}/`;
process.env.ANYBATCH_VERTEX_GCS_URIS = `gs://${BUCKET}/${root}`;

const suite = providerSuite('vertexai', {
  lostCreates: true,
  model: MODEL,
  validationFailure: { status: 'failed' },
  refusedWindow: '48h',
  options: { project: 'anybatch-test', location: 'us-central1', outputUriPrefix: `gs://${BUCKET}/${root}` },
  happyPath: {
    async check({ env, done }) {
      const id = done.anybatch.provider_batches[0].id;
      expect(id).toMatch(/^projects\/anybatch-test\/locations\/us-central1\/batchPredictionJobs\/\d+$/);
      // The lines went up under the batch's own folder, and the predictions came back beside them.
      const listed = (await (await fetch(`${env.sandbox.baseUrls.gcs}/storage/v1/b/${BUCKET}/o?prefix=${encodeURIComponent(`${root}${done.id}/0/`)}`, { headers: { authorization: 'Bearer t' } })).json()) as { items: Array<{ name: string }> };
      const names = listed.items.map((o) => o.name.slice(`${root}${done.id}/0/`.length).replace(/^[0-9a-f]+\//, ''));
      expect(names).toContain('input/requests.jsonl');
      expect(names.some((n) => /^output\/.+\/predictions\.jsonl$/.test(n))).toBe(true);
    },
  },
});

beforeAll(() => {
  // The sandbox's Cloud Storage, known once it listens (the suite's beforeAll, declared first, started it).
  process.env.STORAGE_EMULATOR_HOST = suite.env().sandbox.baseUrls.gcs;
});

describe("vertexai's own", () => {
  test('without an API key, Google credentials: a bearer token (ANYBATCH_GOOGLE_ACCESS_TOKEN) for the jobs and storage', async () => {
    // The worker's own credentials go only where its operator points them: here GOOGLE_VERTEX_BASE_URL, no apiBase.
    Object.assign(process.env, { ANYBATCH_GOOGLE_ACCESS_TOKEN: 'ya29.sandbox-token', GOOGLE_VERTEX_BASE_URL: suite.env().sandbox.baseUrls.vertexai });
    try {
      const done = await suite.untilTerminal((await createBatch('vertexai', suite.input(5, 'bearer'), '/v1/chat/completions', suite.opts({ apiKey: undefined, apiBase: undefined }))).id);
      expect(done.status).toBe('completed');
      const { output } = suite.accountFor(done, 5, 'bearer');
      expect(output).toHaveLength(5);
    } finally {
      delete process.env.ANYBATCH_GOOGLE_ACCESS_TOKEN;
      delete process.env.GOOGLE_VERTEX_BASE_URL;
    }
  });

  test('a model Vertex does not have fails the create at once (not_found), naming it', async () => {
    suite.env().sandbox.setFaults({ models: ['gemini-2.5-pro'] });
    const err = await createBatch('vertexai', suite.input(3, 'nomodel'), '/v1/chat/completions', suite.opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/Publisher Model `.*publishers\/google\/models\/gemini-2\.5-flash` not found/);
  });

  test('an output prefix the worker was not allowed fails the batch before anything is written there', async () => {
    const before = suite.created();
    const err = await createBatch('vertexai', suite.input(3, 'elsewhere'), '/v1/chat/completions', suite.opts({ outputUriPrefix: `gs://${BUCKET}/not-allowed/` })).catch((e: unknown) => e);
    expect((err as Error).message).toContain('gs://anybatch-sandbox/not-allowed/ is not under an entry of ANYBATCH_VERTEX_GCS_URIS');
    expect(suite.created()).toBe(before);
  });
});

test('awkward custom_ids (long, spaces, slashes, non-ASCII) come back exactly: Vertex only ever sees anybatch ids', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const ids = ['a'.repeat(300), 'with spaces / and slashes', 'émoji 🚀 ids', 'UPPER_and-lower.123', '"quoted"'];
  const file = path.join(suite.env().home, 'awkward-vertex.jsonl');
  fs.writeFileSync(file, ids.map((id, i) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [{ role: 'user', content: `Question number ${i}` }] } })).join('\n') + '\n');
  const done = await suite.untilTerminal((await createBatch('vertexai', file, '/v1/chat/completions', suite.opts())).id);
  expect(done.status).toBe('completed');
  const output = fs.readFileSync(path.join(done.anybatch.results_dir, "output.jsonl"), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; response: { body: { choices: Array<{ message: { content: string } }> } } });
  expect(output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
  for (const [i, id] of ids.entries()) expect(output.find((l) => l.custom_id === id)!.response.body.choices[0].message.content).toBe(`Sandbox reply to: Question number ${i}`);
});

test('Claude on Vertex: the Messages body as {custom_id, request} lines, Anthropic messages back as chat completions', async () => {
  const { writeChatInput } = await import('../support/env');
  const file = writeChatInput(suite.env().home, 12, { prefix: 'claude', model: 'claude-sonnet-4-5' });
  const created = await createBatch('vertexai', file, '/v1/chat/completions', suite.opts());
  const done = await suite.untilTerminal(created.id);
  expect(done.status).toBe('completed');
  const { output, errors } = suite.accountFor(done, 12, 'claude');
  expect(errors).toEqual([]);
  expect(output.find((l) => l.custom_id === 'claude-5')!.response!.body).toMatchObject({
    object: 'chat.completion',
    choices: [{ message: { content: 'Sandbox reply to: Question number 5: what is 5 + 5?' }, finish_reason: 'stop' }],
  });
});
