/**
 * Mistral end to end: the public API and the CLI, against the run's Temporal server and the sandbox's mistral
 * module, through `@mistralai/mistralai`: the standard cases of test/support/provider-suite.ts on OpenAI lines
 * (translated; the happy path with a 48h window, sent as `timeout_hours`), and what is Mistral's own: its
 * `{custom_id, body}` lines, embeddings, a line whose url is not the endpoint, one model per job.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createBatch, retrieveBatchResults } from '../../src';
import { providerSuite } from '../support/provider-suite';

const MODEL = 'mistral-small-latest';
const suite = providerSuite('mistral', {
  model: MODEL,
  validationFailure: { status: 'failed' },
  // Mistral takes whole days up to 7d.
  refusedWindow: '30d',
  happyPath: { options: { completionWindow: '48h' } },
});

describe("mistral's own", () => {
  test("Mistral's own {custom_id, body} lines are accepted, and per-request errors land in the error file", async () => {
    const file = path.join(suite.env().home, 'native.jsonl');
    const lines = Array.from({ length: 6 }, (_, i) => ({
      custom_id: `req-${i}`,
      body: { model: MODEL, messages: [{ role: 'user', content: `native ${i}` }], ...(i === 5 ? { sandbox_error: 422 } : {}) },
    }));
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const done = await suite.untilTerminal((await createBatch('mistral', file, '/v1/chat/completions', suite.opts())).id);
    expect(done.status).toBe('completed');
    const { output, errors } = suite.accountFor(done, 6);
    expect(output).toHaveLength(5);
    expect(errors.map((l) => [l.custom_id, l.response?.status_code])).toEqual([['req-5', 422]]);
  });

  test('embeddings: native lines give embedding lists', async () => {
    const env = suite.env();
    const file = path.join(env.home, 'embed.jsonl');
    fs.writeFileSync(file, Array.from({ length: 4 }, (_, i) => JSON.stringify({ custom_id: `req-${i}`, body: { model: 'mistral-embed', input: [`text ${i}`] } })).join('\n') + '\n');
    const done = await suite.untilTerminal((await createBatch('mistral', file, '/v1/embeddings', suite.opts())).id);
    expect(done.status).toBe('completed');
    suite.accountFor(done, 4);
    const { results } = await retrieveBatchResults('mistral', done.id, { ...env.options, endpoint: '/v1/embeddings' });
    expect(results.every((r) => r.result?.object === 'list' && r.result.data[0].embedding.length > 0)).toBe(true);
  });

  test('an OpenAI line whose url is not the batch endpoint fails the batch before anything is created', async () => {
    const file = path.join(suite.env().home, 'wrong-url.jsonl');
    fs.writeFileSync(file, JSON.stringify({ custom_id: 'req-0', method: 'POST', url: '/v1/embeddings', body: { model: MODEL, messages: [] } }) + '\n');
    const before = suite.created();
    const batch = await createBatch('mistral', file, '/v1/chat/completions', suite.opts({ noWait: true }));
    const done = await suite.untilTerminal(batch.id);
    expect(done.status).toBe('failed');
    expect(JSON.stringify(done.errors)).toContain('url must be the batch endpoint');
    expect(suite.created()).toBe(before);
  });

  test('lines naming two models are refused before anything starts', async () => {
    const file = path.join(suite.env().home, 'two-models.jsonl');
    fs.writeFileSync(file, [JSON.stringify({ custom_id: 'a', body: { model: 'm1', messages: [] } }), JSON.stringify({ custom_id: 'b', body: { model: 'm2', messages: [] } })].join('\n') + '\n');
    const before = suite.created();
    await expect(createBatch('mistral', file, '/v1/chat/completions', suite.opts())).rejects.toMatchObject({ code: 'invalid_input' });
    expect(suite.created()).toBe(before);
  });
});
