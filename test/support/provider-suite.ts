/**
 * The end-to-end cases every provider other than OpenAI and Anthropic (which have older suites of their own) must
 * pass, through the public API and the CLI, against the run's Temporal server and the provider's own sandbox module
 * (its base URL, its auth, its wire format, its error shape): happy path, cancel with partial results, expiry,
 * validation failure at the provider, transient faults, a split input; `create --wait --json` of a split input,
 * `cancel --wait`, and a refusal (exit 2) before anything starts. Each case is a few seconds.
 *
 * A provider's file calls `providerSuite(name, profile)` once, at top level (it starts the environment in
 * `beforeAll`), with a `ProviderProfile` saying what differs at that provider, and adds its own cases after it with
 * the returned `ProviderSuite`.
 */
import { cancelBatch, createBatch, retrieveBatch, retrieveBatchResults } from '../../src';
import type { AnybatchBatch, CreateBatchOptions, EndpointOf, ResultLine } from '../../src';
import { providerDefinition } from '../../src/providers/registry';
import type { ProviderName } from '../../src/providers/registry';
import type { ProviderStats } from '../../src/sandbox';
import { accountFor as accountForResults, untilTerminalBatch } from './batches';
import { runCli } from './cli';
import { eventually, startTestEnv, writeChatInput } from './env';
import type { TestEnv } from './env';

/** The providers this suite is for: every registered one but those with suites of their own. */
export type SuiteProvider = Exclude<ProviderName, 'openai' | 'anthropic' | 'openai-compatible'>;

/** What a provider's suite file has to run its own cases. */
export interface ProviderSuite<P extends SuiteProvider> {
  env(): TestEnv;
  /** Options of a batch at the provider's sandbox module (its base URL, the key `<provider>-test-key`: the sandbox takes any, a 200 ms poll), then `extra`. */
  opts(extra?: CreateBatchOptions<P>): CreateBatchOptions<P>;
  /** A chat-completions input of `n` requests (`prefix-0 .. prefix-(n-1)`) naming the profile's model. */
  input(n: number, prefix?: string): string;
  untilTerminal(id: string, timeoutMs?: number): Promise<AnybatchBatch>;
  /** Checks every `custom_id` of `prefix-0 .. prefix-(n-1)` is in exactly one result file; returns both files' lines. */
  accountFor(batch: AnybatchBatch, n: number, prefix?: string): { output: ResultLine[]; errors: ResultLine[] };
  /** Provider batches this provider's sandbox module created so far. */
  created(): number;
}

/** What the standard cases expect differently of one provider. Everything else is asserted alike for all. */
export interface ProviderProfile<P extends SuiteProvider> {
  /** The model every input line names (the sandbox answers with it; single-model providers need one per batch). */
  model: string;
  /**
   * Whether a running batch has got somewhere, so the cancel cases cancel mid-run (after some results, before
   * all). Default: `request_counts.completed > 0`; a provider that reports no counts while running (only a
   * `progress` percent on `anybatch.provider_batches[i]`) says it its own way.
   */
  started?: (batch: AnybatchBatch) => boolean;
  /**
   * How a batch ends when the sandbox's `failValidation` fault fails it at the provider: `failed`, with the
   * provider's error in `errors.data` and a `batch_failed` line for every request; or, at a provider with no
   * failed status (xAI), `completed`, every request an error line of its own with HTTP status `requestStatus` and
   * the provider's message.
   */
  validationFailure: { status: 'failed' } | { status: 'completed'; requestStatus: number };
  /**
   * A completion window the provider does not take (the next one past its longest, from its limits.ts
   * `completionWindows`): the CLI refuses it with `completionWindow "<it>" is not supported by <provider>`, exit 2,
   * before anything is created.
   */
  refusedWindow: string;
  /**
   * The CLI's split case: `requests` requests split by `--max-requests-per-part perPart` into three parts (default 12
   * by 5). A provider that takes no batch smaller than some size (Cerebras: 10) needs parts of at least that size.
   */
  cliSplit?: { requests: number; perPart: number };
  /**
   * Options every batch of the suite needs at this provider (Bedrock: `roleArn`, `outputS3Uri`; Vertex AI:
   * `project`, `outputUriPrefix`), merged before each case's own.
   */
  options?: CreateBatchOptions<P>;
  /**
   * The small cases' sizes (the happy path's 20 requests, the validation failure's 10, the transient faults' 30, the
   * split's 130 by 40) times this, for a provider that takes no batch smaller than some size (Bedrock: 100). Default 1.
   */
  scale?: number;
  /**
   * Also run the lost-create case here (issue 17: both parts' first create answers lost after the provider made the
   * batch), for providers test/security/creates.e2e.test.ts leaves out (Bedrock and Vertex AI keep their input in the
   * cloud's storage): 20 requests (times `scale`) in two parts.
   */
  lostCreates?: boolean;
  /** What the happy-path batch (20 requests, metadata `{team: 'qa'}`) adds at this provider. */
  happyPath?: {
    /** More options of its create (Mistral: a window other than 24h, sent as `timeout_hours`). */
    options?: CreateBatchOptions<P>;
    /**
     * Expectations of the provider's own, once the batch is completed and the common ones hold: `before` is the
     * provider's sandbox stats from just before the create.
     */
    check?(run: { env: TestEnv; created: AnybatchBatch; done: AnybatchBatch; before: ProviderStats }): void | Promise<void>;
  };
}

const CHAT = '/v1/chat/completions';

export function providerSuite<P extends SuiteProvider>(provider: P, profile: ProviderProfile<P>): ProviderSuite<P> {
  let env: TestEnv;
  // Every provider here takes chat completions; the type of P's endpoints is not known inside this function.
  const ENDPOINT = CHAT as EndpointOf<P>;
  const baseUrl = () => env.sandbox.baseUrls[provider];
  const stats = (): ProviderStats => env.sandbox.stats().providers[provider] ?? { filesCreated: 0, batchesCreated: 0, batchCancels: 0, batchesByStatus: {} };
  const started = profile.started ?? ((b: AnybatchBatch) => b.request_counts!.completed > 0);
  const untilStarted = (id: string) => eventually(async () => started(await retrieveBatch(provider, id, env.options)), 30_000, 100);

  beforeAll(async () => {
    env = await startTestEnv();
  });
  afterAll(async () => env?.teardown());
  afterEach(() => env.sandbox.setFaults({}));

  const suite: ProviderSuite<P> = {
    env: () => env,
    opts: (extra = {} as CreateBatchOptions<P>) => ({ ...env.options, apiBase: baseUrl(), apiKey: `${provider}-test-key`, pollInterval: '200ms', ...profile.options, ...extra }),
    input: (n, prefix = 'req') => writeChatInput(env.home, n, { prefix, model: profile.model }),
    untilTerminal: (id, timeoutMs) => untilTerminalBatch(provider, id, env.options, timeoutMs),
    accountFor: accountForResults,
    created: () => stats().batchesCreated,
  };
  const { opts, input, untilTerminal, accountFor } = suite;
  const small = (n: number) => n * (profile.scale ?? 1);
  /** A batch ended before all its requests ran: some results, a `code` error line for each of the rest, counts to match. */
  const expectPartial = (batch: AnybatchBatch, n: number, code: string) => {
    const { output, errors } = accountFor(batch, n);
    expect(output.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((l) => l.error?.code === code)).toBe(true);
    expect(batch.request_counts).toEqual({ total: n, completed: output.length, failed: errors.length });
  };

  describe(`${provider} through the public API`, () => {
    test('a batch runs to completion at the provider and every custom_id has a chat.completion', async () => {
      const before = stats();
      const created = await createBatch(provider, input(small(20)), ENDPOINT, opts({ metadata: { team: 'qa' }, ...profile.happyPath?.options } as CreateBatchOptions<P>));
      expect(created.anybatch.provider).toBe(provider);
      expect(created.anybatch.provider_batches).toHaveLength(1);
      // It reached this provider's module, not another one's.
      expect(suite.created()).toBe(before.batchesCreated + 1);
      const done = await untilTerminal(created.id);
      expect(done.status).toBe('completed');
      // The caller's metadata comes back, whether or not the provider's batch object carries any.
      expect(done.metadata).toEqual({ team: 'qa' });
      expect(done.request_counts).toEqual({ total: small(20), completed: small(20), failed: 0 });
      const { output, errors } = accountFor(done, small(20));
      expect(errors).toEqual([]);
      for (const line of output) {
        expect(line.response!.status_code).toBe(200);
        expect(line.response!.body).toMatchObject({ object: 'chat.completion', model: profile.model });
      }
      // The provider's answer, translated where it is not OpenAI's, under the right custom_id.
      expect(output.find((l) => l.custom_id === 'req-3')!.response!.body).toMatchObject({
        choices: [{ message: { content: 'Sandbox reply to: Question number 3: what is 3 + 3?' }, finish_reason: 'stop' }],
      });
      const { results } = await retrieveBatchResults<SuiteProvider, typeof CHAT>(provider, created.id, { ...env.options, endpoint: CHAT });
      expect(results.every((r) => r.error === null && r.result?.object === 'chat.completion')).toBe(true);
      const sa = (await env.client.workflow.getHandle(created.id).describe()).searchAttributes as Record<string, unknown[]>;
      expect(sa.AnybatchProvider).toEqual([provider]);
      await profile.happyPath?.check?.({ env, created, done, before });
    });

    test('cancelling mid-run delivers partial results and batch_cancelled lines for the rest', async () => {
      const created = await createBatch(provider, input(2000), ENDPOINT, opts());
      await untilStarted(created.id);
      const cancelled = await cancelBatch(provider, created.id, { ...env.options, wait: true });
      expect(cancelled.status).toBe('cancelled');
      expectPartial(cancelled, 2000, 'batch_cancelled');
    });

    test('an expired batch delivers partial results and batch_expired lines', async () => {
      // The sandbox's progress follows its clock: about 180 requests are done when the batch expires, 2820 not.
      env.sandbox.setFaults({ expireAfterSeconds: 1 });
      const done = await untilTerminal((await createBatch(provider, input(3000), ENDPOINT, opts())).id);
      expect(done.status).toBe('expired');
      expectPartial(done, 3000, 'batch_expired');
    });

    const failure = profile.validationFailure;
    test(`a batch the provider fails at validation ends ${failure.status}, every custom_id in errors.jsonl with the provider's error`, async () => {
      env.sandbox.setFaults({ failValidation: true });
      const done = await untilTerminal((await createBatch(provider, input(small(10)), ENDPOINT, opts())).id);
      expect(done.status).toBe(failure.status);
      expect(done.request_counts).toEqual({ total: small(10), completed: 0, failed: small(10) });
      const { output, errors } = accountFor(done, small(10));
      expect(output).toEqual([]);
      if (failure.status === 'failed') {
        expect(done.errors?.data?.[0]?.code).toBeTruthy();
        expect(done.errors?.data?.[0]?.message).toBeTruthy();
        expect(errors.every((l) => l.error?.code === 'batch_failed')).toBe(true);
      } else {
        expect(errors.every((l) => l.response?.status_code === failure.requestStatus && JSON.stringify(l.response.body).includes('failValidation'))).toBe(true);
      }
    });

    test('transient faults (500s, 429s with retry-after, dropped connections) are retried to completion without a second batch', async () => {
      const before = suite.created();
      // Seed 1178 faults the 1st, 3rd and 5th request (a drop, a 500, a 429), then none of the next seven: every
      // provider makes at least three calls (a fault is retried before the next call), so each meets every kind,
      // more than two faults in all, at a cost of about a second each.
      env.sandbox.setFaults({ rate500: 0.2, rate429: 0.2, rateDrop: 0.1, retryAfterSeconds: 1, seed: 1178 });
      const done = await untilTerminal((await createBatch(provider, input(small(30)), ENDPOINT, opts())).id, 120_000);
      expect(done.status).toBe('completed');
      accountFor(done, small(30));
      const faults = env.sandbox.stats().faults;
      expect(faults.rate500 + faults.rate429 + faults.drops).toBeGreaterThan(2);
      expect(suite.created()).toBe(before + 1);
    });

    if (profile.lostCreates) {
      test('lost create answers for two equal parts leave one job per part, every request answered once (the create is sent again and finds its job)', async () => {
        const before = suite.created();
        const lostBefore = env.sandbox.stats().faults.lostCreates;
        env.sandbox.setFaults({ loseCreateResponses: 2 });
        const created = await createBatch(provider, input(small(20), 'lost'), ENDPOINT, opts({ maxRequestsPerPart: small(10) } as CreateBatchOptions<P>));
        const done = await untilTerminal(created.id);
        expect(done.status).toBe('completed');
        expect(env.sandbox.stats().faults.lostCreates - lostBefore).toBe(2);
        expect(suite.created() - before).toBe(2);
        expect(done.anybatch.provider_batches).toHaveLength(2);
        expect(new Set(done.anybatch.provider_batches.map((b) => b.id)).size).toBe(2);
        const { errors } = accountFor(done, small(20), 'lost');
        expect(errors).toEqual([]);
      });
    }

    test('an input past maxRequestsPerPart becomes several provider batches merged into one result', async () => {
      const before = suite.created();
      const created = await createBatch(provider, input(small(130)), ENDPOINT, opts({ maxRequestsPerPart: small(40) } as CreateBatchOptions<P>));
      expect(created.anybatch.provider_batches).toHaveLength(4);
      expect(suite.created()).toBe(before + 4);
      const done = await untilTerminal(created.id);
      expect(done.status).toBe('completed');
      expect(done.request_counts).toEqual({ total: small(130), completed: small(130), failed: 0 });
      expect(new Set(done.anybatch.provider_batches.map((b) => b.id)).size).toBe(4);
      accountFor(done, small(130));
    });
  });

  describe(`${provider} through the CLI`, () => {
    const cli = (args: string[]) => runCli(env, args);
    // The profile's provider options, as the CLI takes them.
    const providerFlags = Object.entries((profile.options ?? {}) as Record<string, unknown>).flatMap(([key, value]) => ['--option', `${key}=${String(value)}`]);
    const create = (file: string, ...more: string[]) =>
      cli(['create', file, '--provider', provider, '--endpoint', CHAT, '--api-base', baseUrl(), '--api-key', 'k', '--poll-interval', '200ms', ...providerFlags, ...more]);

    test('create --wait --json splits by --max-requests-per-part and completes with every custom_id once; get and list show it', async () => {
      const { requests: n, perPart } = profile.cliSplit ?? { requests: 12, perPart: 5 };
      expect(Math.ceil(n / perPart)).toBe(3);
      const run = await create(input(n, 'cli'), '--max-requests-per-part', String(perPart), '--wait', '--json');
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.code).toBe(0);
      const batch = JSON.parse(run.stdout) as AnybatchBatch;
      expect(batch.status).toBe('completed');
      expect(batch.anybatch.provider).toBe(provider);
      expect(batch.anybatch.provider_batches).toHaveLength(3);
      accountFor(batch, n, 'cli');
      const got = await cli(['get', batch.id]);
      expect(got.code).toBe(0);
      expect(got.stdout).toContain(`${n} total, ${n} completed, 0 failed`);
      const listed = await cli(['list', '--provider', provider, '--limit', '100', '--json']);
      expect(JSON.parse(listed.stdout).map((b: AnybatchBatch) => b.id)).toContain(batch.id);
    });

    test('cancel --wait ends a running batch with partial results', async () => {
      const launched = await create(input(2000, 'cc'), '--json');
      expect(launched.code).toBe(0);
      const { id } = JSON.parse(launched.stdout) as AnybatchBatch;
      await untilStarted(id);
      const run = await cli(['cancel', id, '--wait', '--json']);
      expect(run.code).toBe(0);
      const batch = JSON.parse(run.stdout) as AnybatchBatch;
      expect(batch.status).toBe('cancelled');
      const { errors } = accountFor(batch, 2000, 'cc');
      expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
    });

    test(`a completion window the provider does not take (${profile.refusedWindow}) is refused before anything starts, exit 2`, async () => {
      expect(providerDefinition(provider).capabilities.completionWindows).not.toContain(profile.refusedWindow);
      const before = suite.created();
      const run = await create(input(3, 'bad'), '--completion-window', profile.refusedWindow);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`completionWindow "${profile.refusedWindow}" is not supported by ${provider}`);
      expect(suite.created()).toBe(before);
    });
  });

  return suite;
}
