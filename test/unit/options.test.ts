/** Option parsing of the public API (src/options.ts) and the result-shape guards (src/results/types.ts): no Temporal needed. */
import { UsageError } from '../../src/errors';
import { createBatch, listBatches, retrieveBatch, retrieveBatchResults, waitForBatch } from '../../src';
import { closestName, defaultPollIntervalMs, parseCreateOptions } from '../../src/options';
import { PROVIDERS } from '../../src/providers/catalog';
import type { ProviderName } from '../../src/providers/catalog';
import { ENDPOINTS, isEndpointResult, resultAs, resultsEndpointCheck } from '../../src/results/types';
import type { AnybatchBatch } from '../../src/contract/batch';

function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('createBatch options', () => {
  test('an unknown option is a UsageError naming it, with the close known name', () => {
    expect(usage(() => parseCreateOptions('openai', { pollIntervall: '1s' })).message).toBe(
      'Unknown option "pollIntervall" for createBatch (openai); did you mean "pollInterval"?',
    );
    expect(usage(() => parseCreateOptions('openai', { metdata: { a: 'b' } })).message).toContain('did you mean "metadata"?');
    expect(usage(() => parseCreateOptions('openai', { apikey: 'k' })).message).toContain('did you mean "apiKey"?');
    expect(usage(() => parseCreateOptions('anthropic', { defaultMaxToken: 5 })).message).toContain('did you mean "defaultMaxTokens"?');
    expect(usage(() => parseCreateOptions('bedrock', { rolearn: 'arn:aws:iam::1:role/x' })).message).toBe('Unknown option "rolearn" for createBatch (bedrock); did you mean "roleArn"?');
    expect(usage(() => parseCreateOptions('bedrock', { outputS3Url: 's3://b/p/' })).message).toContain('did you mean "outputS3Uri"?');
    expect(usage(() => parseCreateOptions('vertexai', { outputUriPrefx: 'gs://b/p/' })).message).toBe('Unknown option "outputUriPrefx" for createBatch (vertexai); did you mean "outputUriPrefix"?');
    expect(usage(() => parseCreateOptions('vertexai', { locaton: 'us-central1' })).message).toContain('did you mean "location"?');
    const far = usage(() => parseCreateOptions('openai', { frobnicate: true })).message;
    expect(far).toMatch(/^Unknown option "frobnicate" for createBatch \(openai\); known options: .*pollInterval/);
    expect(usage(() => parseCreateOptions('openai', { temporal: { adress: 'x:1' } })).message).toContain('Unknown option "temporal.adress" for createBatch (openai); did you mean "temporal.address"?');
  });

  test("another provider's option says whose it is", () => {
    expect(usage(() => parseCreateOptions('openai', { defaultMaxTokens: 100 })).message).toBe(
      'Unknown option "defaultMaxTokens" for createBatch (openai); it is an option of anthropic',
    );
  });

  test.each([
    [{ metadata: 'team=qa' }, /^metadata must be an object/],
    [{ metadata: ['a'] }, /^metadata must be an object/],
    [{ metadata: { n: 1 } }, /^metadata\.n must be a string/],
    [{ apiKey: 42 }, /^apiKey must be a non-empty string/],
    [{ apiBase: { url: 'x' } }, /^apiBase must be a non-empty string/],
    [{ completionWindow: 24 }, /^completionWindow must be/],
    [{ completionWindow: '48h' }, /completionWindow "48h" is not supported/],
    [{ pollInterval: true }, /^pollInterval must be a positive duration/],
    [{ pollInterval: 'soon' }, /^pollInterval must be a positive duration/],
    [{ retryTimeout: -1 }, /^retryTimeout must be a positive duration/],
    [{ noWait: 'yes' }, /^noWait must be true or false/],
    [{ searchAttributes: 1 }, /^searchAttributes must be true or false/],
    [{ maxRequestsPerPart: 1.5 }, /^maxRequestsPerPart must be a positive integer/],
    [{ maxBytesPerPart: '100' }, /^maxBytesPerPart must be a positive integer/],
    [{ submitConcurrency: 0 }, /^submitConcurrency must be a positive integer/],
    [{ clientArgs: 'x' }, /^clientArgs must be an object/],
    [{ clientArgs: { fetch: () => null } }, /^clientArgs\.fetch must be a JSON value/],
    [{ batchId: 'a b' }, /batchId "a b" is refused: a batch id is 1 to 200 letters, digits/],
    [{ taskQueue: '' }, /^taskQueue must be a non-empty string/],
    [{ temporal: 'localhost:7233' }, /^temporal must be an object/],
  ])('%j is a UsageError naming the option', (options, message) => {
    expect(usage(() => parseCreateOptions('openai', options)).message).toMatch(message);
  });

  test.each([
    [{ defaultMaxTokens: 0 }, /^defaultMaxTokens must be a positive integer/],
    [{ defaultMaxTokens: '4096' }, /^defaultMaxTokens must be a positive integer/],
    [{ responseFormat: 'json' }, /^responseFormat must be "native" or "reject"/],
    [{ rawResults: 'true' }, /^rawResults must be true or false/],
  ])('anthropic %j is a UsageError naming the option', (options, message) => {
    expect(usage(() => parseCreateOptions('anthropic', options)).message).toMatch(message);
  });

  test('good options parse, with defaults; only given provider options are passed on', () => {
    const parsed = parseCreateOptions('anthropic', {
      metadata: { team: 'qa' },
      pollInterval: '1s',
      retryTimeout: '2m',
      defaultMaxTokens: 512,
      rawResults: true,
      apiKey: undefined,
      taskQueue: 'q',
    });
    expect(parsed).toMatchObject({
      completionWindow: '24h',
      metadata: { team: 'qa' },
      pollIntervalMs: 1000,
      retryTimeoutMs: 120_000,
      noWait: false,
      searchAttributes: true,
      maxRequestsPerPart: null,
      apiBase: null,
      taskQueue: 'q',
      providerOptions: { defaultMaxTokens: 512, rawResults: true },
    });
    expect(parsed).not.toHaveProperty('apiKey');
    const plain = parseCreateOptions('openai', undefined);
    expect(plain.pollIntervalMs).toBe(30_000);
    expect(plain).not.toHaveProperty('retryTimeoutMs');
    expect(plain.providerOptions).toEqual({});
  });

  test('createBatch itself rejects before touching the file or Temporal', async () => {
    const options = { pollIntervall: '1s' } as unknown as Parameters<typeof createBatch<'openai'>>[3];
    await expect(createBatch('openai', '/does/not/exist.jsonl', '/v1/chat/completions', options)).rejects.toThrow(
      'Unknown option "pollIntervall" for createBatch (openai); did you mean "pollInterval"?',
    );
  });

  test('closestName', () => {
    expect(closestName('intervall', ['interval', 'timeout'])).toBe('interval');
    expect(closestName('x', ['interval', 'timeout'])).toBeNull();
  });
});

describe('provider names', () => {
  const bad = 'openia' as unknown as ProviderName;
  test.each([
    ['createBatch', () => createBatch(bad, 'x.jsonl', '/v1/chat/completions' as never)],
    ['retrieveBatch', () => retrieveBatch(bad, 'ab_1')],
    ['listBatches', () => listBatches(bad)],
    ['retrieveBatchResults', () => retrieveBatchResults(bad, 'ab_1')],
    ['waitForBatch', () => waitForBatch(bad, 'ab_1')],
  ])('%s: an unknown provider is a UsageError listing the supported ones', async (_name, call) => {
    const err = await call().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe('Provider "openia" is not supported; supported: openai, anthropic, azureopenai, groq, xai, gemini, mistral, together, nebius, dashscope, moonshot, cerebras, bedrock, vertexai, openai-compatible.');
  });

  test('waitForBatch checks its options', async () => {
    await expect(waitForBatch('openai', 'ab_1', { intervall: '1s' } as never)).rejects.toThrow('Unknown option "intervall" for waitForBatch; did you mean "interval"?');
    await expect(waitForBatch('openai', 'ab_1', { timeout: 'soon' })).rejects.toThrow(/^timeout must be a positive duration/);
    await expect(waitForBatch('openai', 'ab_1', { onProgress: 'log' as never })).rejects.toThrow('onProgress must be a function.');
  });
});

describe('result shapes', () => {
  const chat = { id: 'c', object: 'chat.completion', created: 0, model: 'm', choices: [] };
  const embeddings = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1] }], model: 'm', usage: {} };
  const response = { id: 'r', object: 'response', output: [] };
  const completion = { id: 't', object: 'text_completion', choices: [], created: 0, model: 'm' };
  const moderation = { id: 'modr', model: 'm', results: [{ flagged: false, categories: {}, category_scores: {} }] };
  const message = { id: 'msg', type: 'message', role: 'assistant', content: [], model: 'claude', stop_reason: 'end_turn', usage: {} };
  const bodies = {
    '/v1/chat/completions': chat,
    '/v1/embeddings': embeddings,
    '/v1/responses': response,
    '/v1/completions': completion,
    '/v1/moderations': moderation,
    '/v1/messages': message,
  } as const;

  test('each body matches its endpoint and no other', () => {
    for (const endpoint of ENDPOINTS) {
      for (const [other, body] of Object.entries(bodies)) expect([endpoint, other, isEndpointResult(body, endpoint)]).toEqual([endpoint, other, endpoint === other]);
    }
    expect(isEndpointResult(null, '/v1/chat/completions')).toBe(false);
    expect(isEndpointResult({ object: 'list', data: [{ object: 'file' }] }, '/v1/embeddings')).toBe(false);
  });

  test('resultAs returns the typed body or null', () => {
    expect(resultAs({ result: chat }, '/v1/chat/completions')).toBe(chat);
    expect(resultAs({ result: chat }, '/v1/messages')).toBeNull();
    expect(resultAs({ result: null }, '/v1/chat/completions')).toBeNull();
  });

  test("every provider's catalog endpoint has a result type", () => {
    for (const p of Object.values(PROVIDERS)) for (const e of p.endpoints) expect(ENDPOINTS).toContain(e);
  });

  test('the endpoint option is checked against the batch', () => {
    const batch = (provider: string, endpoint: string) => ({ id: 'ab_1', endpoint, anybatch: { provider } }) as unknown as AnybatchBatch;
    expect(() => resultsEndpointCheck(batch('openai', '/v1/embeddings'), '/v1/chat/completions')).toThrow(
      "Batch ab_1 has endpoint /v1/embeddings, not /v1/chat/completions: read its results with { endpoint: '/v1/embeddings' }.",
    );
    expect(() => resultsEndpointCheck(batch('openai', '/v1/embeddings'), '/v1/embeddings')).not.toThrow();
    // Anthropic chat batches hold chat.completions, or Messages with rawResults: each body is checked.
    const asChat = resultsEndpointCheck(batch('anthropic', '/v1/chat/completions'), '/v1/chat/completions');
    expect(() => asChat({ custom_id: 'a', result: chat })).not.toThrow();
    expect(() => asChat({ custom_id: 'a', result: null })).not.toThrow();
    expect(() => asChat({ custom_id: 'a', result: message })).toThrow(/created with rawResults: true\): read its results with \{ endpoint: '\/v1\/messages' \}/);
    const asMessages = resultsEndpointCheck(batch('anthropic', '/v1/chat/completions'), '/v1/messages');
    expect(() => asMessages({ custom_id: 'a', result: message })).not.toThrow();
    expect(() => asMessages({ custom_id: 'a', result: chat })).toThrow(/holds chat.completions/);
    expect(() => resultsEndpointCheck(batch('anthropic', '/v1/messages'), '/v1/chat/completions')).toThrow(UsageError);
  });
});

describe('bounds', () => {
  test('each bound is a duration, only those given reach the spec, misspelt ones are named', () => {
    const parsed = parseCreateOptions('openai', { bounds: { deadlineGrace: '2h', resultsRetention: 7 * 86_400_000 } });
    expect(parsed.bounds).toEqual({ deadlineGraceMs: 7_200_000, resultsRetentionMs: 604_800_000 });
    expect(() => parseCreateOptions('openai', { bounds: { deadlineGrace: 'soon' } })).toThrow(/bounds\.deadlineGrace must be a positive duration/);
    expect(() => parseCreateOptions('openai', { bounds: { cancelGrase: '1h' } } as never)).toThrow(/bounds\.cancelGrase.*did you mean "bounds\.cancelGrace"|cancelGrace/);
    expect(() => parseCreateOptions('openai', { bounds: 5 } as never)).toThrow(/bounds must be an object/);
  });
});

describe('the default poll interval', () => {
  const saved = process.env.ANYBATCH_PROVIDER_WEBHOOKS;
  afterEach(() => {
    if (saved === undefined) delete process.env.ANYBATCH_PROVIDER_WEBHOOKS;
    else process.env.ANYBATCH_PROVIDER_WEBHOOKS = saved;
  });

  test('is 30 seconds, and 10 minutes for a provider whose webhooks reach the receiver', () => {
    expect(defaultPollIntervalMs('openai', {})).toBe(30_000);
    expect(defaultPollIntervalMs('openai', { ANYBATCH_PROVIDER_WEBHOOKS: 'openai' })).toBe(600_000);
    expect(defaultPollIntervalMs('anthropic', { ANYBATCH_PROVIDER_WEBHOOKS: ' openai ' })).toBe(30_000);
    expect(defaultPollIntervalMs('openai', { ANYBATCH_PROVIDER_WEBHOOKS: '' })).toBe(30_000);
    expect(defaultPollIntervalMs('gemini', { ANYBATCH_PROVIDER_WEBHOOKS: 'openai,gemini' })).toBe(600_000);
  });

  test('names a provider whose webhooks anybatch cannot receive', () => {
    expect(() => defaultPollIntervalMs('openai', { ANYBATCH_PROVIDER_WEBHOOKS: 'openai,gemni' })).toThrow(
      'ANYBATCH_PROVIDER_WEBHOOKS=openai,gemni: "gemni" is not a provider whose webhooks anybatch receives (only openai, gemini).',
    );
  });

  test('applies to createBatch only when the batch names no interval of its own', () => {
    process.env.ANYBATCH_PROVIDER_WEBHOOKS = 'openai';
    expect(parseCreateOptions('openai', {}).pollIntervalMs).toBe(600_000);
    expect(parseCreateOptions('openai', { pollInterval: '5s' }).pollIntervalMs).toBe(5_000);
    expect(parseCreateOptions('groq', {}).pollIntervalMs).toBe(30_000);
  });
});
