/** The `anybatch` CLI as a user runs it: a child process against the run's Temporal and the sandbox. */
import fs from 'node:fs';
import path from 'node:path';
import { readJsonl, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { runCli } from '../support/cli';
import type { CliRun as Run } from '../support/cli';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const anybatch = (args: string[], extraEnv: Record<string, string> = {}) => runCli(env, args, extraEnv);

function create(file: string, ...more: string[]): Promise<Run> {
  return anybatch(['create', file, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--api-base', env.apiBase, '--api-key', 'k', '--poll-interval', '200ms', ...more]);
}

test('create --wait --json prints the completed Batch alone on stdout and exits 0', async () => {
  const input = writeChatInput(env.home, 12);
  const run = await create(input, '--wait', '--json', '--metadata', 'owner=cli', '--metadata', 'run=1');
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(run.code).toBe(0);
  const batch = JSON.parse(run.stdout);
  expect(batch.object).toBe('batch');
  expect(batch.status).toBe('completed');
  expect(batch.metadata).toEqual({ owner: 'cli', run: '1' });
  expect(batch.request_counts).toEqual({ total: 12, completed: 12, failed: 0 });
  expect(readJsonl(batch.anybatch.results.output_path)).toHaveLength(12);
});

test('get, list and results show a finished batch', async () => {
  const input = writeChatInput(env.home, 3);
  const created = JSON.parse((await create(input, '--wait', '--json')).stdout);

  const got = await anybatch(['get', created.id]);
  expect(got.code).toBe(0);
  expect(got.stdout).toContain(created.id);
  expect(got.stdout).toContain('completed');
  expect(got.stdout).toContain('3 total, 3 completed, 0 failed');

  const listed = await anybatch(['list', '--provider', 'openai', '--limit', '100', '--json']);
  expect(listed.code).toBe(0);
  expect(JSON.parse(listed.stdout).map((b: { id: string }) => b.id)).toContain(created.id);

  const lines = await anybatch(['results', created.id]);
  expect(lines.code).toBe(0);
  expect(lines.stdout.trim().split('\n').map((l) => JSON.parse(l).custom_id).sort()).toEqual(['req-0', 'req-1', 'req-2']);

  const out = path.join(env.home, 'copied');
  const copied = await anybatch(['results', created.id, '--out', out]);
  expect(copied.code).toBe(0);
  expect(fs.readdirSync(out).sort()).toEqual(['errors.jsonl', 'output.jsonl']);
});

test('invalid input exits 2 with one message listing the bad lines and no stack trace', async () => {
  const file = path.join(env.home, 'bad-cli.jsonl');
  fs.writeFileSync(file, '{"custom_id":"x","method":"POST","url":"/v1/embeddings","body":{"model":"m"}}\n{oops\n');
  const run = await create(file);
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).toContain('line 1');
  expect(run.stderr).toContain('line 2');
  expect(run.stderr).not.toMatch(/\n\s+at /);
});

test('usage errors exit 2', async () => {
  const missingOption = await anybatch(['create', 'x.jsonl', '--provider', 'openai']);
  expect(missingOption.code).toBe(2);
  const unknownProvider = await anybatch(['create', 'x.jsonl', '--provider', 'nope', '--endpoint', '/v1/chat/completions']);
  expect(unknownProvider.code).toBe(2);
  expect(unknownProvider.stderr).toContain('not supported');
  const badLimit = await anybatch(['list', '--limit', 'many']);
  expect(badLimit.code).toBe(2);
});

test('--option passes a provider option, JSON-typed, checked like the library\'s', async () => {
  const file = path.join(env.home, 'option-cli.jsonl');
  fs.writeFileSync(file, '{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":"hi"}]}}\n');
  const base = ['create', file, '--provider', 'openai-compatible', '--endpoint', '/v1/chat/completions', '--api-base', 'http://127.0.0.1:1/v1'];
  const zero = await anybatch([...base, '--option', 'concurrency=0']);
  expect(zero.code).toBe(2);
  expect(zero.stderr).toContain('openai-compatible option concurrency must be a positive integer (got 0).'); // a number, not "0"
  const word = await anybatch([...base, '--option', 'concurrency=two']);
  expect(word.stderr).toContain('(got "two")');
  const misspelt = await anybatch([...base, '--option', 'concurency=2']);
  expect(misspelt.code).toBe(2);
  expect(misspelt.stderr).toMatch(/Unknown option "concurency".*did you mean "concurrency"/);
  const common = await anybatch([...base, '--option', 'pollInterval=1s']);
  expect(common.code).toBe(2);
  expect(common.stderr).toContain('"pollInterval" is one of anybatch\'s own options');
  const malformed = await anybatch([...base, '--option', 'rpm']);
  expect(malformed.stderr).toContain('--option takes key=value (got "rpm").');
});

test('cancel --wait ends the batch cancelled with partial results', async () => {
  const input = writeChatInput(env.home, 3000);
  const created = JSON.parse((await create(input, '--json')).stdout);
  await new Promise((r) => setTimeout(r, 1500));
  const run = await anybatch(['cancel', created.id, '--wait', '--json']);
  expect(run.code).toBe(0);
  const batch = JSON.parse(run.stdout);
  expect(batch.status).toBe('cancelled');
  expect(batch.request_counts.completed + batch.request_counts.failed).toBe(3000);
});

test('create --wait exits 1 when the batch does not complete', async () => {
  env.sandbox.setFaults({ failValidation: true });
  try {
    const run = await create(writeChatInput(env.home, 2), '--wait');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('failed');
  } finally {
    env.sandbox.setFaults({});
  }
});

test('an unknown batch id is a clear error with exit 1', async () => {
  const run = await anybatch(['get', 'ab_does_not_exist']);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain('No batch ab_does_not_exist');
});
