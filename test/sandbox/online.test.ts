/**
 * The sandbox's online endpoints (src/sandbox/providers/online): the official `openai` SDK works against them
 * unchanged, `--rpm` / `--tpm` limits answer OpenAI's 429 (body, retry-after, x-ratelimit-* headers), and the
 * stats count completions, 429s and answers to a body answered before.
 */
import OpenAI, { RateLimitError } from 'openai';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { SandboxSettingError } from '../../src/sandbox';

describe('sandbox online endpoints', () => {
  let sandbox: Sandbox | null = null;
  afterEach(async () => {
    await sandbox?.close();
    sandbox = null;
  });

  test('the openai SDK gets chat completions and embeddings, counted in /_sandbox/stats', async () => {
    sandbox = await startSandbox();
    const client = new OpenAI({ apiKey: 'k', baseURL: sandbox.baseUrls.openai, maxRetries: 0 });
    const chat = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });
    expect(chat.object).toBe('chat.completion');
    expect(chat.choices[0]!.message.content).toBe('Sandbox reply to: hello there');
    expect(chat.usage!.prompt_tokens).toBe(3);
    const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    expect(emb.data).toHaveLength(2);
    // The prefix-less alias serves them too.
    const alias = new OpenAI({ apiKey: 'k', baseURL: `${sandbox.url}/v1`, maxRetries: 0 });
    await alias.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });
    const stats = (await (await fetch(`${sandbox.url}/_sandbox/stats`)).json()) as ReturnType<Sandbox['stats']>;
    expect(stats.onlineCompletions).toBe(2);
    expect(stats.online).toEqual({ completions: 2, embeddings: 1, rateLimited: 0, duplicates: 1, distinct: 2 });
  });

  test('over --rpm: a 429 in OpenAI shape with retry-after, retry-after-ms and x-ratelimit headers; later it goes', async () => {
    sandbox = await startSandbox({ rpm: 120 }); // 2 a second, a burst of 2
    const client = new OpenAI({ apiKey: 'k', baseURL: sandbox.baseUrls.openai, maxRetries: 0 });
    const ask = (i: number) => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: `q${i}` }] });
    await ask(0);
    await ask(1);
    const refused = await ask(2).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(RateLimitError);
    const err = refused as RateLimitError;
    expect(err.status).toBe(429);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.type).toBe('requests');
    expect(err.message).toMatch(/requests per min \(RPM\): Limit 120/);
    const headers = err.headers!;
    const ms = Number(headers.get('retry-after-ms'));
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThanOrEqual(500);
    expect(headers.get('retry-after')).toBe('1');
    expect(headers.get('x-ratelimit-limit-requests')).toBe('120');
    expect(headers.get('x-ratelimit-remaining-requests')).toBe('0');
    await new Promise((r) => setTimeout(r, ms + 20));
    await ask(3);
    expect(sandbox.stats().online).toMatchObject({ completions: 3, rateLimited: 1, duplicates: 0 });
  });

  test('over --tpm: refused for tokens (prompt + max_tokens)', async () => {
    sandbox = await startSandbox({ tpm: 600 }); // 10 tokens a second
    const client = new OpenAI({ apiKey: 'k', baseURL: sandbox.baseUrls.openai, maxRetries: 0 });
    // 2 prompt tokens + 8 max tokens: the whole second's worth.
    await client.chat.completions.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'abcdefgh' }] });
    const err = (await client.chat.completions.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'abcdefgh' }] }).catch((e: unknown) => e)) as RateLimitError;
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.type).toBe('tokens');
    expect(err.headers!.get('x-ratelimit-limit-tokens')).toBe('600');
  });

  test('a bad limit is refused at start', async () => {
    await expect(startSandbox({ rpm: -1 })).rejects.toBeInstanceOf(SandboxSettingError);
  });
});
