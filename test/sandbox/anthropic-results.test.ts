/** Per-request outcomes in a results file: params checked at processing time, and the sandbox model's replies. */
import type Anthropic from '@anthropic-ai/sdk';
import type { MessageBatchResult } from '@anthropic-ai/sdk/resources/messages/batches';
import type { Message, ToolUseBlock } from '@anthropic-ai/sdk/resources/messages/messages';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { anthropicFor, byCustomId, request, results, waitEnded } from './anthropic-helpers';

const WEATHER = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 }, unit: { type: 'string', enum: ['c', 'f'] }, note: { type: 'string' } },
    required: ['city', 'days', 'unit'],
  },
};
const CLOCK = { name: 'get_time', input_schema: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } };

const REQUESTS = [
  request('plain'),
  request('no-max-tokens', { max_tokens: undefined }),
  request('zero-max-tokens', { max_tokens: 0 }),
  request('no-model', { model: undefined }),
  request('system-role', { messages: [{ role: 'user', content: 'hi' }, { role: 'system', content: 'be brief' }] }),
  request('assistant-first', { messages: [{ role: 'assistant', content: 'hi' }] }),
  request('not-alternating', { messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] }),
  request('no-messages', { messages: [] }),
  request('streaming', { stream: true }),
  request('overloaded', { sandbox_error: 529 }),
  request('rate-limited', { sandbox_error: 429 }),
  request('server-error', { sandbox_error: 500 }),
  request('tool-any', { tools: [WEATHER, CLOCK], tool_choice: { type: 'any' } }),
  request('tool-named', { tools: [WEATHER, CLOCK], tool_choice: { type: 'tool', name: 'get_time' } }),
  request('tool-word', { tools: [WEATHER], messages: [{ role: 'user', content: 'Please use a tool for this' }] }),
  request('tools-unused', { tools: [WEATHER], messages: [{ role: 'user', content: 'Just chat' }] }),
  request('with-system', { system: [{ type: 'text', text: 'You are a pirate who answers in rhymes only.' }] }),
  request('with-image', {
    messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }, { type: 'text', text: 'What is this?' }] }],
  }),
  request('tiny-max-tokens', { max_tokens: 3 }),
  request('conversation', {
    messages: [
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: [{ type: 'text', text: 'second question' }] },
    ],
  }),
];

let sandbox: Sandbox;
let client: Anthropic;
let outcome: Map<string, MessageBatchResult>;

beforeAll(async () => {
  sandbox = await startSandbox({ rate: 1000 });
  client = anthropicFor(sandbox);
  const created = await client.messages.batches.create({ requests: REQUESTS });
  await waitEnded(client, created.id);
  outcome = byCustomId(await results(client, created.id));
});

afterAll(async () => {
  await sandbox.close();
});

function message(customId: string): Message {
  const result = outcome.get(customId);
  if (result?.type !== 'succeeded') throw new Error(`${customId} did not succeed: ${JSON.stringify(result)}`);
  return result.message;
}

function errorOf(customId: string): { type: string; message: string } {
  const result = outcome.get(customId);
  if (result?.type !== 'errored') throw new Error(`${customId} did not error: ${JSON.stringify(result)}`);
  expect(result.error).toMatchObject({ type: 'error', request_id: expect.stringMatching(/^req_011/) });
  return result.error.error;
}

function textOf(customId: string): string {
  const block = message(customId).content[0];
  return block.type === 'text' ? block.text : '';
}

function toolUse(customId: string): ToolUseBlock | undefined {
  return message(customId).content.find((block): block is ToolUseBlock => block.type === 'tool_use');
}

test('invalid params are accepted at create and show up as errored results', async () => {
  const batch = (await client.messages.batches.list({ limit: 1 })).data[0];
  expect(batch.request_counts).toEqual({ processing: 0, succeeded: 9, errored: 11, canceled: 0, expired: 0 });
});

test('a request without max_tokens is errored with invalid_request_error naming the field', () => {
  expect(errorOf('no-max-tokens')).toEqual({ type: 'invalid_request_error', message: 'max_tokens: Field required' });
  expect(errorOf('zero-max-tokens').message).toMatch(/^max_tokens: /);
  expect(errorOf('no-model').message).toBe('model: Field required');
});

test('a system role inside messages is errored', () => {
  expect(errorOf('system-role')).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/^messages\.1\.role: /) });
});

test('messages must start with a user turn, alternate, and not be empty', () => {
  expect(errorOf('assistant-first').message).toMatch(/^messages\.0\.role: /);
  expect(errorOf('not-alternating').message).toMatch(/^messages\.1\.role: .*alternate/);
  expect(errorOf('no-messages').message).toMatch(/^messages: /);
});

test('stream: true is errored', () => {
  expect(errorOf('streaming').message).toMatch(/^stream: /);
});

test('sandbox_error forces an errored result of the matching type', () => {
  expect(errorOf('overloaded').type).toBe('overloaded_error');
  expect(errorOf('rate-limited').type).toBe('rate_limit_error');
  expect(errorOf('server-error').type).toBe('api_error');
});

test('a Message carries every field, with batch usage', () => {
  expect(message('plain')).toEqual({
    id: expect.stringMatching(/^msg_01\w{22}$/),
    type: 'message',
    role: 'assistant',
    model: 'claude-sandbox-1',
    content: [{ type: 'text', text: 'Sandbox reply to: Say hello to plain', citations: null }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: {
      input_tokens: Math.ceil('Say hello to plain'.length / 4),
      output_tokens: Math.ceil('Sandbox reply to: Say hello to plain'.length / 4),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: null,
      server_tool_use: null,
      service_tier: 'batch',
      output_tokens_details: null,
      inference_geo: null,
      speed: null,
    },
  });
});

test('tools with tool_choice any give a tool_use block for the first tool with its required input', () => {
  expect(message('tool-any').stop_reason).toBe('tool_use');
  expect(toolUse('tool-any')).toEqual({
    type: 'tool_use',
    id: expect.stringMatching(/^toolu_01/),
    name: 'get_weather',
    input: { city: 'sample city', days: 1, unit: 'c' },
    caller: { type: 'direct' },
  });
  expect(message('tool-any').usage.input_tokens).toBeGreaterThan(message('plain').usage.input_tokens);
});

test('tool_choice naming a tool calls that tool', () => {
  expect(toolUse('tool-named')).toMatchObject({ name: 'get_time', input: { zone: 'sample zone' } });
});

test('the word "tool" in the last user turn triggers a call; otherwise tools go unused', () => {
  expect(toolUse('tool-word')?.name).toBe('get_weather');
  expect(toolUse('tools-unused')).toBeUndefined();
  expect(message('tools-unused').stop_reason).toBe('end_turn');
});

test('the system prompt is honoured and observable in the reply', () => {
  expect(textOf('with-system')).toBe('Sandbox reply to: Say hello to with-system [system: You are a pirate who answers i]');
});

test('an image in the last user turn is acknowledged', () => {
  expect(textOf('with-image')).toBe('Sandbox reply to: What is this? [1 image]');
});

test('a reply longer than max_tokens is cut off with stop_reason max_tokens', () => {
  const cut = message('tiny-max-tokens');
  expect([cut.stop_reason, cut.usage.output_tokens]).toEqual(['max_tokens', 3]);
  expect(textOf('tiny-max-tokens')).toBe('Sandbox reply'.slice(0, 12));
});

test('the reply answers the last user turn of a conversation', () => {
  expect(textOf('conversation')).toBe('Sandbox reply to: second question');
});

test('the failValidation fault makes every request of a new batch errored', async () => {
  sandbox.setFaults({ failValidation: true });
  const created = await client.messages.batches.create({ requests: [request('a'), request('b')] });
  sandbox.setFaults({});
  const ended = await waitEnded(client, created.id);
  expect(ended.request_counts).toMatchObject({ succeeded: 0, errored: 2 });
  const lines = await results(client, created.id);
  expect(lines.every((l) => l.result.type === 'errored' && l.result.error.error.type === 'invalid_request_error')).toBe(true);
});
