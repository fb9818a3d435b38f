/** The deterministic stand-in model. */
import { respond } from '../../src/sandbox/providers/openai/responder';

const ctx = { key: 'batch_x/r1', created: 1_700_000_000 };

test('a chat completion answers the last user message and estimates usage', () => {
  const question = 'What is the capital of France? Answer in one word, please, thanks a lot!';
  const body = {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: question }] },
    ],
  };
  const outcome = respond('/v1/chat/completions', body, ctx);
  expect(outcome.statusCode).toBe(200);
  const reply = `Sandbox reply to: ${question.slice(0, 60)}`;
  expect(outcome.body).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-mini', created: ctx.created, choices: [{ message: { content: reply } }] });
  expect(outcome.body.usage).toMatchObject({ completion_tokens: Math.ceil(reply.length / 4) });
  expect(respond('/v1/chat/completions', body, ctx)).toEqual(outcome);
});

test('embeddings are deterministic unit vectors, one per input', () => {
  const outcome = respond('/v1/embeddings', { model: 'text-embedding-3-small', input: ['a', 'b'] }, ctx);
  const data = outcome.body.data as Array<{ index: number; embedding: number[] }>;
  expect(data.map((d) => d.index)).toEqual([0, 1]);
  const norm = Math.hypot(...data[0].embedding);
  expect(norm).toBeCloseTo(1, 4);
  expect(respond('/v1/embeddings', { input: 'a' }, ctx).body.data).toEqual([data[0]]);
});

test('sandbox_error and max_tokens <= 0 produce error responses', () => {
  expect(respond('/v1/chat/completions', { sandbox_error: 503 }, ctx)).toMatchObject({ statusCode: 503, body: { error: { type: 'server_error' } } });
  expect(respond('/v1/chat/completions', { max_tokens: 0 }, ctx)).toMatchObject({
    statusCode: 400,
    body: { error: { type: 'invalid_request_error', param: 'max_tokens' } },
    inputTokens: 0,
  });
});

test('other endpoints echo the request', () => {
  expect(respond('/v1/responses', { model: 'm', input: 'hi' }, ctx).body).toMatchObject({ model: 'm', endpoint: '/v1/responses', request: { input: 'hi' } });
});
