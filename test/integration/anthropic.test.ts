/**
 * Anthropic through Temporal and the sandbox's Message Batches API: OpenAI-format input in, OpenAI-format
 * output and error files out, every custom_id exactly once.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cancelBatch, createBatch, listBatches, retrieveBatch } from '../../src';
import type { AnybatchBatch, ResultLine } from '../../src';
import { InputValidationError } from '../../src/errors';
import { eventually, readJsonl, startTestEnv } from '../support/env';
import type { TestEnv } from '../support/env';
import { recordHistory } from '../support/histories';

let env: TestEnv;
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const WEATHER_TOOL = { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => env?.teardown());
afterEach(() => env.sandbox.setFaults({}));

function opts(extra: Record<string, unknown> = {}) {
  return { ...env.options, apiBase: env.sandbox.url, apiKey: 'sk-ant-test', pollInterval: '200ms', ...extra };
}

function chat(customId: string, body: Record<string, unknown>) {
  return { custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model: 'claude-sonnet-4-5', max_tokens: 200, ...body } };
}

function writeLines(name: string, lines: unknown[]): string {
  const file = path.join(env.home, name);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

function manyLines(n: number, prefix = 'a') {
  return Array.from({ length: n }, (_, i) => chat(`${prefix}-${i}`, { messages: [{ role: 'user', content: `Question ${i}` }] }));
}

async function untilTerminal(id: string): Promise<AnybatchBatch> {
  return eventually(async () => {
    const b = await retrieveBatch('anthropic', id, env.options);
    return ['completed', 'failed', 'expired', 'cancelled'].includes(b.status) ? b : null;
  }, 90_000);
}

function results(batch: AnybatchBatch): { output: ResultLine[]; errors: ResultLine[]; ids: string[] } {
  const output = readJsonl<ResultLine>(batch.anybatch.results!.output_path);
  const errors = readJsonl<ResultLine>(batch.anybatch.results!.errors_path);
  return { output, errors, ids: [...output, ...errors].map((l) => l.custom_id).sort() };
}

type Completion = { object: string; choices: { message: { content: string | null; tool_calls?: { function: { name: string; arguments: string } }[] }; finish_reason: string }[]; usage: { prompt_tokens: number } };
const body = (line: ResultLine) => line.response!.body as Completion;

test('system prompts, images and tools translate, and results come back as chat.completions', async () => {
  const file = writeLines('rich.jsonl', [
    chat('system-prompt', { messages: [{ role: 'system', content: 'You are a pirate.' }, { role: 'user', content: 'Say hello' }] }),
    chat('image', { messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: PNG } }] }] }),
    chat('tool-call', { messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL], tool_choice: 'required' }),
    chat('tool-result', {
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18C and sunny' },
      ],
      tools: [WEATHER_TOOL],
    }),
  ]);
  const created = await createBatch('anthropic', file, '/v1/chat/completions', opts());
  expect(created.anybatch.provider_batches[0].id).toMatch(/^msgbatch_/);
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('completed');
  const { output, errors, ids } = results(done);
  expect(errors).toEqual([]);
  expect(ids).toEqual(['image', 'system-prompt', 'tool-call', 'tool-result']);
  const byId = Object.fromEntries(output.map((l) => [l.custom_id, body(l)]));
  for (const b of Object.values(byId)) expect(b.object).toBe('chat.completion');
  expect(byId['system-prompt'].choices[0].message.content).toContain('[system: You are a pirate.');
  expect(byId.image.choices[0].message.content).toContain('[1 image]');
  expect(byId['tool-call'].choices[0].finish_reason).toBe('tool_calls');
  const call = byId['tool-call'].choices[0].message.tool_calls![0];
  expect(call.function.name).toBe('get_weather');
  expect(JSON.parse(call.function.arguments)).toHaveProperty('city');
  expect(byId['tool-result'].usage.prompt_tokens).toBeGreaterThan(0);
  // An inline provider's history: its prepared input is no file.
  await recordHistory(env.client, created.id, 'anthropic-completed');
});

test('custom_ids Anthropic would refuse are remapped and come back under the original ids', async () => {
  const odd = ['doc/1.txt', 'ünïcödé id', 'x'.repeat(80), 'a.b:c d', 'plain_id-1'];
  const file = writeLines('odd-ids.jsonl', odd.map((id) => chat(id, { messages: [{ role: 'user', content: `id ${id}` }] })));
  const done = await untilTerminal((await createBatch('anthropic', file, '/v1/chat/completions', opts())).id);
  expect(done.status).toBe('completed');
  expect(results(done).ids).toEqual([...odd].sort());
});

test('a request the API rejects ends as an errored line in errors.jsonl with its HTTP status', async () => {
  const file = writeLines('native.jsonl', [
    { custom_id: 'good', params: { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] } },
    { custom_id: 'no-max-tokens', params: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] } },
  ]);
  const done = await untilTerminal((await createBatch('anthropic', file, '/v1/messages', opts())).id);
  expect(done.status).toBe('completed');
  const { output, errors } = results(done);
  expect(output.map((l) => l.custom_id)).toEqual(['good']);
  expect(errors.map((l) => l.custom_id)).toEqual(['no-max-tokens']);
  expect(errors[0].response?.status_code).toBe(400);
  expect(done.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
});

test('input that cannot be translated is rejected before anything starts, by line and field', async () => {
  const file = writeLines('untranslatable.jsonl', [
    chat('ok', { messages: [{ role: 'user', content: 'hi' }] }),
    chat('n2', { messages: [{ role: 'user', content: 'hi' }], n: 2 }),
    chat('bad-args', { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{not json' } }] }] }),
  ]);
  const before = env.sandbox.stats().messageBatchesCreated;
  const err = await createBatch('anthropic', file, '/v1/chat/completions', opts()).catch((e) => e);
  expect(err).toBeInstanceOf(InputValidationError);
  expect((err as InputValidationError).issues.map((i) => i.line)).toEqual([2, 3]);
  expect(env.sandbox.stats().messageBatchesCreated).toBe(before);
});

test('fields without an Anthropic equivalent are reported once as warnings', async () => {
  const file = writeLines('warn.jsonl', [chat('w1', { messages: [{ role: 'user', content: 'hi' }], seed: 1 }), chat('w2', { messages: [{ role: 'user', content: 'hi' }], seed: 2 })]);
  const created = await createBatch('anthropic', file, '/v1/chat/completions', opts());
  expect(created.anybatch.warnings.filter((w) => w.includes('seed'))).toHaveLength(1);
  await untilTerminal(created.id);
});

test('cancelling mid-run delivers partial results and batch_cancelled lines', async () => {
  env.sandbox.setFaults({});
  const file = writeLines('cancel.jsonl', manyLines(2000, 'c'));
  const created = await createBatch('anthropic', file, '/v1/chat/completions', opts());
  await new Promise((r) => setTimeout(r, 1500));
  const done = await cancelBatch('anthropic', created.id, { ...env.options, wait: true });
  expect(done.status).toBe('cancelled');
  const { output, errors, ids } = results(done);
  expect(ids).toHaveLength(2000);
  expect(new Set(ids).size).toBe(2000);
  expect(output.length).toBeGreaterThan(0);
  expect(errors.length).toBeGreaterThan(0);
  expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
});

test('an expired batch delivers partial results and batch_expired lines', async () => {
  env.sandbox.setFaults({ expireAfterSeconds: 2 });
  const file = writeLines('expire.jsonl', manyLines(3000, 'e'));
  const done = await untilTerminal((await createBatch('anthropic', file, '/v1/chat/completions', opts())).id);
  expect(done.status).toBe('expired');
  const { output, errors, ids } = results(done);
  expect(new Set(ids).size).toBe(3000);
  expect(output.length).toBeGreaterThan(0);
  expect(errors.every((l) => l.error?.code === 'batch_expired')).toBe(true);
});

test('listBatches pages Anthropic batches newest first', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await createBatch('anthropic', writeLines(`list-${i}.jsonl`, manyLines(1, `l${i}`)), '/v1/chat/completions', opts())).id);
    await new Promise((r) => setTimeout(r, 1100));
  }
  const page = await eventually(async () => {
    const p = await listBatches('anthropic', { ...env.options, limit: 2 });
    return p[0]?.id === ids[2] ? p : null;
  }, 20_000);
  expect(page.map((b) => b.id)).toEqual([ids[2], ids[1]]);
  const next = await listBatches('anthropic', { ...env.options, limit: 2, after: ids[1] });
  expect(next[0].id).toBe(ids[0]);
  expect(next.every((b) => b.anybatch.provider === 'anthropic')).toBe(true);
});

test('the CLI runs an Anthropic batch to OpenAI-format output with --wait', async () => {
  const file = writeLines('cli.jsonl', manyLines(5, 'cli'));
  const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'dist', 'client.js'), 'create', file, '--provider', 'anthropic', '--endpoint', '/v1/chat/completions', '--api-base', env.sandbox.url, '--api-key', 'k', '--poll-interval', '200ms', '--wait', '--json'], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, ANYBATCH_TASK_QUEUE: env.taskQueue, ANYBATCH_HOME: env.home },
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const code = await new Promise((r) => child.on('close', r));
  expect(code).toBe(0);
  const batch = JSON.parse(stdout) as AnybatchBatch;
  expect(batch.status).toBe('completed');
  const lines = readJsonl<ResultLine>(batch.anybatch.results!.output_path);
  expect(lines.map((l) => l.custom_id).sort()).toEqual(['cli-0', 'cli-1', 'cli-2', 'cli-3', 'cli-4']);
  expect(body(lines[0]).object).toBe('chat.completion');
});
