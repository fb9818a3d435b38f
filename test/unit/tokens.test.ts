/** Token estimates: which tokenizer a model gets, what a request counts, and the per-part sums of a plan. */
import { Readable } from 'node:stream';
import { CHARS_PER_TOKEN, LineEstimator, encodingFor, estimateParts, estimateRequest, tokenCounter } from '../../src/tokens';

const o200k = tokenCounter('openai', 'gpt-4o-mini');

test('OpenAI models get their real encoding, wherever they are hosted; other families the documented estimate', () => {
  expect(encodingFor('openai', 'gpt-4o-mini')).toBe('o200k_base');
  expect(encodingFor('openai', 'gpt-5-nano-2025-08-07')).toBe('o200k_base');
  expect(encodingFor('openai', 'o3-mini')).toBe('o200k_base');
  expect(encodingFor('openai', 'gpt-4-turbo')).toBe('cl100k_base');
  expect(encodingFor('openai', 'gpt-3.5-turbo')).toBe('cl100k_base');
  expect(encodingFor('openai', 'text-embedding-3-small')).toBe('cl100k_base');
  expect(encodingFor('groq', 'openai/gpt-oss-120b')).toBe('o200k_base');
  expect(encodingFor('azureopenai', 'my-deployment')).toBe('o200k_base');
  expect(encodingFor('anthropic', 'claude-sonnet-4-5')).toBeNull();
  expect(encodingFor('gemini', 'gemini-2.5-flash')).toBeNull();
  const claude = tokenCounter('anthropic', 'claude-sonnet-4-5');
  expect(claude).toMatchObject({ name: 'chars/3.5', exact: false });
  expect(claude.count('x'.repeat(35))).toBe(10);
  expect(claude.count('x'.repeat(36))).toBe(Math.ceil(36 / CHARS_PER_TOKEN));
});

test('o200k_base counts as OpenAI does, and special-token spellings are plain text', () => {
  expect(o200k).toMatchObject({ name: 'o200k_base', exact: true });
  expect(o200k.count('Hello')).toBe(1);
  expect(o200k.count('hello world')).toBe(2);
  expect(o200k.count('')).toBe(0);
  expect(o200k.count('<|endoftext|>')).toBeGreaterThan(1);
});

test('a chat request: role, text and the chat format overhead (8 tokens for "Hello", as gpt-4o reports), with its output cap', () => {
  const hello = estimateRequest({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 50 }, '/v1/chat/completions', o200k);
  expect(hello).toEqual({ input: 8, maxOutput: 50, withoutMaxOutput: 0 });
  const two = estimateRequest(
    { model: 'gpt-4o-mini', n: 2, max_completion_tokens: 10, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hello' }, { type: 'image_url', image_url: { url: 'data:', detail: 'low' } }] }] },
    '/v1/chat/completions',
    o200k,
  );
  // 3 + system(1) + "Be brief."(3) + 3 + user(1) + Hello(1) + low-detail image(85) + 3
  expect(two).toEqual({ input: 3 + 1 + o200k.count('Be brief.') + 3 + 1 + 1 + 85 + 3, maxOutput: 20, withoutMaxOutput: 0 });
  const tools = estimateRequest({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }], tools: [{ type: 'function', function: { name: 'f' } }] }, '/v1/chat/completions', o200k);
  expect(tools.input).toBeGreaterThan(hello.input);
  expect(tools).toMatchObject({ maxOutput: 0, withoutMaxOutput: 1 });
});

test('responses, embeddings and Anthropic native params are counted from their own fields', () => {
  const responses = estimateRequest({ model: 'gpt-4o', instructions: 'Be brief.', input: 'Hello', max_output_tokens: 30 }, '/v1/responses', o200k);
  expect(responses).toEqual({ input: o200k.count('Be brief.') + 1, maxOutput: 30, withoutMaxOutput: 0 });
  const embeddings = estimateRequest({ model: 'text-embedding-3-small', input: ['hello world', [1, 2, 3]] }, '/v1/embeddings', o200k);
  expect(embeddings).toEqual({ input: 2 + 3, maxOutput: 0, withoutMaxOutput: 0 });
  const claude = tokenCounter('anthropic', 'claude-sonnet-4-5');
  const native = estimateRequest({ model: 'claude-sonnet-4-5', max_tokens: 100, system: 'x'.repeat(70), messages: [{ role: 'user', content: [{ type: 'text', text: 'y'.repeat(35) }] }] }, '/v1/messages', claude);
  // system 20 + per-message 3 + role "user" 2 + text 10 + priming 3
  expect(native).toEqual({ input: 20 + 3 + 2 + 10 + 3, maxOutput: 100, withoutMaxOutput: 0 });
});

function line(i: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ custom_id: `r-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }], ...extra } });
}

test('estimateParts sums each part from one pass over the staged input, by the parts\' request counts', async () => {
  const lines = [line(0, { max_tokens: 5 }), line(1, { max_tokens: 5 }), line(2), line(3, { max_tokens: 7 }), line(4, { max_tokens: 1 })];
  // Chunks cut mid-line, as a stream delivers them.
  const bytes = Buffer.from(lines.join('\n') + '\n');
  const chunks = Readable.from([bytes.subarray(0, 17), bytes.subarray(17, 200), bytes.subarray(200)]);
  const parts = await estimateParts(chunks, [{ requestCount: 2 }, { requestCount: 2 }, { requestCount: 1 }], new LineEstimator('openai', '/v1/chat/completions'));
  expect(parts.map((p) => p.estimatedTokens)).toEqual([
    { input: 16, maxOutput: 10, withoutMaxOutput: 0 },
    { input: 16, maxOutput: 7, withoutMaxOutput: 1 },
    { input: 8, maxOutput: 1, withoutMaxOutput: 0 },
  ]);
  // Anthropic's native lines keep the request in `params`.
  const native = new LineEstimator('anthropic', '/v1/messages').line(Buffer.from(JSON.stringify({ custom_id: 'a', params: { model: 'claude-sonnet-4-5', max_tokens: 9, messages: [{ role: 'user', content: 'x'.repeat(35) }] } })));
  expect(native).toEqual({ input: 3 + 2 + 10 + 3, maxOutput: 9, withoutMaxOutput: 0 });
});
