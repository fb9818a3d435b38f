/**
 * The CLI's side of issue 7, section 3: `cancel` on a finished batch is not an error, and an unknown batch
 * id is one clear line and exit 1 for every command that takes an id. A child process, as a user runs it.
 */
import path from 'node:path';
import { createBatch, waitForBatch } from '../../src';
import type { AnybatchBatch } from '../../src';
import { startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { runCli } from '../support/cli';

let env: TestEnv;
let finished: AnybatchBatch;

beforeAll(async () => {
  env = await startTestEnv();
  const created = await createBatch('openai', writeChatInput(env.home, 3), '/v1/chat/completions', {
    ...env.options,
    apiBase: env.apiBase,
    apiKey: 'k',
    pollInterval: '200ms',
  });
  finished = await waitForBatch('openai', created.id, { ...env.options, interval: 100, timeout: 60_000 });
});
afterAll(async () => {
  await env?.teardown();
});

const anybatch = (args: string[], extraEnv: Record<string, string> = {}) => runCli(env, args, extraEnv);

test('cancel on a finished batch says so on stderr and exits 0 (with --json, the batch on stdout)', async () => {
  expect(finished.status).toBe('completed');
  const run = await anybatch(['cancel', finished.id]);
  expect(run.code).toBe(0);
  expect(run.stderr).toBe(`Batch ${finished.id} is already completed; nothing to cancel.\n`);
  expect(run.stdout).toBe('');

  const waited = await anybatch(['cancel', finished.id, '--wait', '--json']);
  expect(waited.code).toBe(0);
  expect(waited.stderr).toBe(`Batch ${finished.id} is already completed; nothing to cancel.\n`);
  const batch = JSON.parse(waited.stdout);
  expect(batch.id).toBe(finished.id);
  expect(batch.status).toBe('completed');
});

test.each([
  ['get', ['get', 'ab_missing_0001']],
  ['get --json', ['get', 'ab_missing_0001', '--json']],
  ['cancel', ['cancel', 'ab_missing_0001']],
  ['cancel --wait', ['cancel', 'ab_missing_0001', '--wait']],
  ['results', ['results', 'ab_missing_0001']],
  ['results --out', ['results', 'ab_missing_0001', '--out', path.join('/tmp', 'anybatch-never-written')]],
  ['list --after', ['list', '--after', 'ab_missing_0001']],
  ['list --provider --after', ['list', '--provider', 'openai', '--after', 'ab_missing_0001']],
])('%s with an unknown id: one clear line on stderr, exit 1', async (_name, args) => {
  const run = await anybatch(args);
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^anybatch: No batch ab_missing_0001( for provider openai)?\.\n$/);
});
