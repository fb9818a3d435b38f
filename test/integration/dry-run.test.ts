/**
 * `anybatch create --dry-run` and `planBatch`: the input is validated and split as `createBatch` would, each part's
 * tokens are estimated and priced, and nothing starts: no Temporal server is reachable here, and no data is staged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countTokens } from 'gpt-tokenizer/cjs/encoding/o200k_base';
import { planBatch } from '../../src';
import type { BatchPlan } from '../../src';
import { runCli } from '../support/cli';

const FIXTURE = path.join(__dirname, '..', '..', 'examples', 'chat.jsonl');
let home: string;
// Nothing listens there: a dry run must not need Temporal.
const noTemporal = () => ({ address: '127.0.0.1:1', taskQueue: 'dry-run', home });
const dryRun = (args: string[]) => runCli(noTemporal(), ['create', '--dry-run', ...args]);

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-dry-run-test-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

type Line = { body: { messages: { role: string; content: string }[]; max_tokens: number } };
const lines = () => fs.readFileSync(FIXTURE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);

/** The fixture's input tokens counted here with the tokenizer itself, by OpenAI's chat format. */
function expectedInput(requests: Line[]): number {
  return requests.reduce((n, l) => n + l.body.messages.reduce((m, msg) => m + 3 + countTokens(msg.role) + countTokens(msg.content), 0) + 3, 0);
}

test('the CLI prints requests, parts, tokens and the cost range, with no Temporal and nothing staged', async () => {
  const run = await dryRun([FIXTURE, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--max-requests-per-part', '7']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const all = lines();
  const parts = [all.slice(0, 7), all.slice(7, 14), all.slice(14)];
  expect(run.stdout).toContain(`Dry run of ${FIXTURE}: nothing was started.`);
  expect(run.stdout).toContain('openai /v1/chat/completions, gpt-4o-mini (tokens: o200k_base)');
  expect(run.stdout).toMatch(/requests: 20 \(.*\) in 3 parts \(at most 7 requests/);
  parts.forEach((p, i) => {
    expect(run.stdout).toMatch(new RegExp(`part ${i}: ${p.length} requests, .*, ~${expectedInput(p)} input tokens, at most ${(p.length * 300).toLocaleString('en-US')} output tokens`));
  });
  // gpt-4o-mini at half its standard $0.15 / $0.60 per million tokens.
  const input = expectedInput(all);
  const min = (input * 0.075) / 1e6;
  const max = (input * 0.075 + 6000 * 0.3) / 1e6;
  expect(run.stdout).toContain(`total: ~${input} input tokens, at most 6,000 output tokens`);
  expect(run.stdout).toContain(`estimated cost: $${min.toFixed(6)} (input only) to $${max.toFixed(6)} (input and every output cap), at batch prices:`);
  expect(run.stdout).toContain('gpt-4o-mini: $0.075 input, $0.3 output per million tokens (50% batch discount)');
  expect(fs.readdirSync(home)).toEqual([]);
});

test('--json prints the library plan; --model prices the same requests as another model', async () => {
  const run = await dryRun([FIXTURE, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--json']);
  expect(run.code).toBe(0);
  const plan = JSON.parse(run.stdout) as BatchPlan;
  expect(plan).toEqual(await planBatch('openai', FIXTURE, '/v1/chat/completions'));
  expect(plan).toMatchObject({ requests: 20, models: ['gpt-4o-mini'], parts: [{ index: 0, requests: 20 }] });
  expect(plan.total.estimated_tokens).toEqual({ input: expectedInput(lines()), maxOutput: 6000, withoutMaxOutput: 0 });

  const asClaude = await planBatch('anthropic', FIXTURE, '/v1/chat/completions', { model: 'claude-sonnet-4-5' });
  expect(asClaude.token_counting).toEqual({ 'claude-sonnet-4-5': 'chars/3.5' });
  expect(asClaude.total.cost).toMatchObject({ min: (asClaude.total.estimated_tokens.input * 1.5) / 1e6 });
  const cli = await dryRun([FIXTURE, '--provider', 'anthropic', '--endpoint', '/v1/chat/completions', '--model', 'claude-sonnet-4-5', '--json']);
  expect(JSON.parse(cli.stdout)).toEqual(asClaude);
});

test('requests without max_tokens make the maximum unbounded; an unknown model has no price; bad input fails as createBatch does', async () => {
  const file = path.join(home, 'open.jsonl');
  const line = (i: number, body: Record<string, unknown>) => JSON.stringify({ custom_id: `r${i}`, method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'Hi' }], ...body } });
  fs.writeFileSync(file, [line(0, { model: 'gpt-4o-mini' }), line(1, { model: 'gpt-4o-mini', max_tokens: 10 })].join('\n') + '\n');
  const open = await planBatch('openai', file, '/v1/chat/completions');
  expect(open.total.estimated_tokens).toMatchObject({ maxOutput: 10, withoutMaxOutput: 1 });
  expect(open.total.cost).toMatchObject({ max: null, max_reason: '1 request set no max_tokens, so the output is unbounded' });
  const text = await dryRun([file, '--provider', 'openai', '--endpoint', '/v1/chat/completions']);
  expect(text.stdout).toContain('(1 request set no output cap: unbounded)');

  fs.writeFileSync(file, line(0, { model: 'gpt-no-such-model', max_tokens: 5 }) + '\n');
  const unknown = await dryRun([file, '--provider', 'openai', '--endpoint', '/v1/chat/completions']);
  expect(unknown.code).toBe(0);
  expect(unknown.stdout).toContain('estimated cost: unknown (no known price: @pydantic/genai-prices');

  fs.writeFileSync(file, line(0, { model: 'gpt-4o-mini' }) + '\n{"custom_id": "r1"}\n');
  const bad = await dryRun([file, '--provider', 'openai', '--endpoint', '/v1/chat/completions']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('line 2');
  expect(bad.stdout).toBe('');
  const misuse = await runCli(noTemporal(), ['create', FIXTURE, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--model', 'gpt-4o']);
  expect(misuse.code).toBe(2);
  expect(misuse.stderr).toContain('--model is for --dry-run');
});
