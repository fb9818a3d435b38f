/**
 * The enqueued token limit (`enqueuedTokenLimit`, `--enqueued-token-limit`), through the official openai SDK:
 * per model, batches still validating, in_progress or finalizing hold their prompt tokens (counted as the
 * stand-in model counts them, ceil(characters / 4)); a new batch that would go over fails with OpenAI's
 * `token_limit_exceeded`, and tokens come free as batches complete or are cancelled. The clock is manual, so
 * every state is exact.
 */
import { Command } from 'commander';
import fs from 'node:fs';
import OpenAI from 'openai';
import type { Batch } from 'openai/resources/batches';
import { UsageError } from '../../src/errors';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { registerSandboxCommand } from '../../src/sandbox/cli';
import { range, tempDir, upload, writeJsonl } from './helpers';

const LIMIT = 100;
const T0 = 1_700_000_000_000;
let now = T0;
let sandbox: Sandbox;
let client: OpenAI;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ now: () => now, rate: 1, validationMs: 1000, finalizingMs: 200, cancellingMs: 300, enqueuedTokenLimit: LIMIT });
  client = new OpenAI({ baseURL: sandbox.baseUrls.openai, apiKey: 'test-key', maxRetries: 0 });
  dir = tempDir();
});

afterAll(async () => {
  await sandbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `count` chat requests to `model`, each of one user message of `chars` characters: ceil(chars / 4) prompt tokens. */
function lines(prefix: string, count: number, chars: number, model = 'gpt-4o-mini'): Array<Record<string, unknown>> {
  return range(count, `${prefix}-`).map((id) => ({
    custom_id: id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content: 'x'.repeat(chars) }] },
  }));
}

async function create(api: OpenAI, name: string, input: Array<Record<string, unknown>>): Promise<Batch> {
  const fileId = await upload(api, writeJsonl(dir, `${name}.jsonl`, input));
  return api.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });
}

function refusal(model: string, limit: string): Batch['errors'] {
  return {
    object: 'list',
    data: [
      {
        code: 'token_limit_exceeded',
        message: `Enqueued token limit reached for ${model} in organization org-sandbox. Limit: ${limit} enqueued tokens. Please try again once some in_progress batches have been completed.`,
        param: null,
        line: null,
      },
    ],
  };
}

test('per model, a batch that would go over the enqueued tokens fails; completed and cancelled batches give theirs back', async () => {
  // 3 x 20 and 8 x 5 prompt tokens: exactly the limit of 100 for gpt-4o-mini.
  const a = await create(client, 'a', lines('a', 3, 80));
  const b = await create(client, 'b', lines('b', 8, 20));
  const over = await create(client, 'over', lines('over', 1, 1));
  const otherModel = await create(client, 'other', lines('other', 5, 80, 'gpt-4o'));
  expect([a.status, b.status, over.status, otherModel.status]).toEqual(['validating', 'validating', 'validating', 'validating']);

  now = T0 + 1000; // validation over
  const refused = await client.batches.retrieve(over.id);
  expect(refused).toMatchObject({ status: 'failed', failed_at: Math.floor(now / 1000), errors: refusal('gpt-4o-mini', '100'), output_file_id: null, error_file_id: null });
  expect(refused.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });
  expect((await client.batches.retrieve(a.id)).status).toBe('in_progress');
  expect((await client.batches.retrieve(b.id)).status).toBe('in_progress');
  expect((await client.batches.retrieve(otherModel.id)).status).toBe('in_progress'); // 100 tokens of another model

  // A runs 3 requests at 1/s and finalizes for 200 ms: still holding its tokens while finalizing.
  now = T0 + 4100;
  expect((await client.batches.retrieve(a.id)).status).toBe('finalizing');
  const stillFull = await create(client, 'still-full', lines('full', 1, 1));
  now = T0 + 4200;
  const done = await client.batches.retrieve(a.id);
  expect(done.status).toBe('completed');
  expect(done.usage?.input_tokens).toBe(60); // the count the limit used is the usage the model reports
  now = T0 + 4100 + 1000;
  expect(await client.batches.retrieve(stillFull.id)).toMatchObject({ status: 'failed', errors: refusal('gpt-4o-mini', '100') });

  // A completed: B's 40 tokens are enqueued, so 60 fit exactly and one more does not.
  now = T0 + 5200;
  const fits = await create(client, 'fits', lines('fits', 3, 80));
  const oneMore = await create(client, 'one-more', lines('one-more', 1, 4));
  now += 1000;
  expect((await client.batches.retrieve(fits.id)).status).toBe('in_progress');
  expect(await client.batches.retrieve(oneMore.id)).toMatchObject({ status: 'failed', errors: refusal('gpt-4o-mini', '100') });

  // Cancelling B frees its 40 tokens at once.
  expect((await client.batches.cancel(b.id)).status).toBe('cancelling');
  const afterCancel = await create(client, 'after-cancel', lines('after-cancel', 8, 20));
  now += 1000;
  expect((await client.batches.retrieve(afterCancel.id)).status).toBe('in_progress');
  expect(sandbox.stats().batchesByStatus.failed).toBe(3);
});

test('a batch bigger than the limit alone fails on groq and azureopenai too, each counting its own batches', async () => {
  const groq = new OpenAI({ baseURL: sandbox.baseUrls.groq, apiKey: 'test-key', maxRetries: 0 });
  const azure = new OpenAI({ baseURL: `${sandbox.baseUrls.azureopenai}/openai/v1`, apiKey: 'test-key', maxRetries: 0 });
  const start = now;
  // OpenAI's gpt-4o-mini batches hold the whole limit; Groq's do not share it.
  const groqFits = await create(groq, 'groq-fits', lines('g', 5, 80));
  const groqTooBig = await create(groq, 'groq-too-big', lines('g', 101, 4, 'llama-3.1-8b-instant'));
  const azureTooBig = await create(azure, 'azure-too-big', lines('z', 1, 401, 'my-deployment'));
  now = start + 1000;
  expect((await groq.batches.retrieve(groqFits.id)).status).toBe('in_progress');
  expect(await groq.batches.retrieve(groqTooBig.id)).toMatchObject({ status: 'failed', errors: refusal('llama-3.1-8b-instant', '100') });
  expect(await azure.batches.retrieve(azureTooBig.id)).toMatchObject({ status: 'failed', errors: refusal('my-deployment', '100') });
});

test('the limit is written with thousands separators, as OpenAI writes it', async () => {
  const big = await startSandbox({ validationMs: 0, enqueuedTokenLimit: 2_000_000 });
  try {
    const api = new OpenAI({ baseURL: big.baseUrls.openai, apiKey: 'test-key', maxRetries: 0 });
    const batch = await create(api, 'huge', lines('huge', 1, 8_000_004));
    let seen = await api.batches.retrieve(batch.id);
    while (seen.status === 'validating') seen = await api.batches.retrieve(batch.id);
    expect(seen).toMatchObject({ status: 'failed', errors: refusal('gpt-4o-mini', '2,000,000') });
  } finally {
    await big.close();
  }
});

describe('settings', () => {
  function program(): Command {
    const root = new Command('anybatch').exitOverride();
    registerSandboxCommand(root);
    return root;
  }

  test('a limit that is not a positive integer is refused, programmatically and on the command line', async () => {
    for (const bad of [0, -5, 1.5]) await expect(startSandbox({ enqueuedTokenLimit: bad })).rejects.toThrow(/enqueuedTokenLimit must be a positive integer/);
    for (const bad of ['many', '0']) {
      await expect(program().parseAsync(['sandbox', '--port', '0', '--enqueued-token-limit', bad], { from: 'user' })).rejects.toBeInstanceOf(UsageError);
    }
  });

  test('--help documents the flag and how tokens are counted', () => {
    const sandboxCommand = program().commands.find((c) => c.name() === 'sandbox') as Command;
    const help = sandboxCommand.helpInformation().replace(/\s+/g, ' ');
    expect(help).toContain('--enqueued-token-limit <n>');
    expect(help).toContain('token_limit_exceeded');
    expect(help).toContain('ceil(characters / 4)');
  });
});
