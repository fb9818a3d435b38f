/**
 * Nebius Token Factory end to end: the OpenAI adapter configured for Nebius (src/providers/nebius) against the
 * sandbox's nebius module at `/nebius/v1`: the standard cases of test/support/provider-suite.ts through the public
 * API and the CLI, plus what is Nebius's own (embeddings batches, one model per file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputValidationError, createBatch } from '../../src';
import { writeChatInput } from '../support/env';
import { providerSuite } from '../support/provider-suite';

const MODEL = 'meta-llama/Meta-Llama-3.1-70B-Instruct';
const suite = providerSuite('nebius', {
  model: MODEL,
  validationFailure: { status: 'failed' },
  // Nebius takes 24h only.
  refusedWindow: '48h',
});

describe("nebius's own rules", () => {
  test('an embeddings batch runs too (its batch guide names /v1/chat/completions and /v1/embeddings)', async () => {
    const env = suite.env();
    const file = path.join(env.home, 'nebius-embeddings.jsonl');
    const lines = Array.from({ length: 4 }, (_, i) => JSON.stringify({ custom_id: `req-${i}`, method: 'POST', url: '/v1/embeddings', body: { model: 'BAAI/bge-en-icl', input: `text ${i}` } }));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const done = await suite.untilTerminal((await createBatch('nebius', file, '/v1/embeddings', suite.opts())).id);
    expect(done.status).toBe('completed');
    const { output } = suite.accountFor(done, 4);
    expect(output.every((l) => (l.response!.body as { object?: string }).object === 'list')).toBe(true);
  });

  test('every line must name the same model: mixed models are refused before anything starts', async () => {
    const env = suite.env();
    const a = writeChatInput(env.home, 2, { model: MODEL, prefix: 'a' });
    const b = writeChatInput(env.home, 1, { model: 'Qwen/Qwen3-235B-A22B', prefix: 'b' });
    const file = path.join(env.home, 'nebius-mixed.jsonl');
    fs.writeFileSync(file, fs.readFileSync(a, 'utf8') + fs.readFileSync(b, 'utf8'));
    const before = suite.created();
    const err = await createBatch('nebius', file, '/v1/chat/completions', suite.opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputValidationError);
    expect((err as InputValidationError).issues[0]).toMatchObject({ line: 3, field: 'body.model' });
    expect(suite.created()).toBe(before);
  });
});
