/**
 * Issue 17 §2: creates that cannot duplicate or adopt. Every provider adapter, driven through its real code
 * (`getAdapter`) against the in-process sandbox, the way the activities drive it (prepare, then create, a retryable
 * failure retried):
 *
 * - a create whose answer is lost after the provider made the batch (the sandbox's `loseCreateResponses` fault), for
 *   a part split in two parts of equal size, ends with exactly one provider batch per part, and each part's results
 *   are its own requests;
 * - a run of a batch never adopts what an earlier run (or another deployment) with the same batch id made at the
 *   provider, neither its upload nor its batch: a corrected input of the same size runs the corrected prompts;
 * - Anthropic, which has no metadata: a stranger's batch with the same request count, created in the window of a
 *   create whose outcome is unknown, is not adopted;
 * - openai-compatible: the online batch an earlier run left under the part's key is not adopted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { Batch } from '../../src/contract/batch';
import type { BatchSpec, PartPlan } from '../../src/contract/spec';
import type { OnlineBatchStart, OnlineHost } from '../../src/online/host';
import { getAdapter } from '../../src/providers';
import { anthropic } from '../../src/providers/anthropic';
import { AnthropicAdapter } from '../../src/providers/anthropic/adapter';
import { providerInfo } from '../../src/providers/definition';
import { ProviderError, type PreparedInput, type ProviderConnection, type ProviderInput, type ResultLine } from '../../src/providers/types';
import { startSandbox, type Sandbox, type SandboxProviderName } from '../../src/sandbox';

/**
 * The providers whose parts go through a file API of their own. Bedrock and Vertex AI put their input in the cloud's
 * storage (S3, Cloud Storage): their lost-create cases run end to end in their own suites
 * (test/integration/bedrock.test.ts, vertexai.test.ts, through the standard suite's `lostCreates` case); `gcs` is the sandbox's storage, not a provider.
 */
const MODELS: Record<Exclude<SandboxProviderName, 'bedrock' | 'vertexai' | 'gcs'>, string> = {
  openai: 'gpt-4o-mini',
  azureopenai: 'gpt-4o-mini-batch',
  groq: 'llama-3.1-8b-instant',
  mistral: 'mistral-small-latest',
  together: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
  gemini: 'gemini-2.5-flash',
  xai: 'grok-4-fast',
  anthropic: 'claude-sonnet-4-5',
  nebius: 'meta-llama/Meta-Llama-3.1-70B-Instruct',
  dashscope: 'qwen-plus',
  moonshot: 'kimi-k2-0905-preview',
  cerebras: 'llama3.1-8b',
};
const PROVIDERS = Object.keys(MODELS) as Array<keyof typeof MODELS>;
const TERMINAL = ['completed', 'failed', 'expired', 'cancelled'];

let sandbox: Sandbox;
let home: string;
beforeAll(async () => {
  sandbox = await startSandbox({ rate: 1000, validationMs: 10, finalizingMs: 10 });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-creates-'));
});
afterAll(async () => {
  await sandbox.close();
  fs.rmSync(home, { recursive: true, force: true });
});
afterEach(() => sandbox.setFaults({}));

let runs = 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function conn(provider: string): ProviderConnection {
  return { apiKey: `${provider}-key`, apiBase: sandbox.baseUrls[provider as SandboxProviderName] };
}

/** The prompt of request `j` of part `part` in run `run`: every one different, all of one length. */
function prompt(run: string, part: number, j: number): string {
  return `Question ${run} part ${part} number ${String(j).padStart(3, '0')}`;
}

/**
 * One part of a batch as the activities give it to an adapter: its staged lines (custom_ids `p<part>-r<j>`), its
 * idempotency key `<batch id>/<part>` and a work folder of this run's.
 */
function partInput(provider: string, batchId: string, run: string, part: number, n: number): ProviderInput {
  const dir = path.join(home, run);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${batchId}.part-${part}.jsonl`);
  const lines = Array.from({ length: n }, (_, j) =>
    JSON.stringify({ custom_id: `p${part}-r${j}`, method: 'POST', url: '/v1/chat/completions', body: { model: MODELS[provider as keyof typeof MODELS], max_tokens: 50, messages: [{ role: 'user', content: prompt(run, part, j) }] } }),
  );
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return {
    path: file,
    requestCount: n,
    bytes: fs.statSync(file).size,
    idempotencyKey: `${batchId}/${part}`,
    notBefore: Math.floor(Date.now() / 1000) - 3600,
    endpoint: '/v1/chat/completions',
    options: {},
    workDir: path.join(dir, `${batchId}.work`, String(part)),
  };
}

/** As the activity retries a step: a retryable ProviderError is tried again (a little later), anything else fails. */
async function retried<T>(fn: () => Promise<T>, attempts = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.retryable || attempt >= attempts) throw err;
      await sleep(err.retryAfterMs ?? 100);
    }
  }
}

interface Created {
  input: ProviderInput;
  prepared: PreparedInput;
  batch: Batch;
}

async function prepareAndCreate(provider: string, input: ProviderInput, prepared?: PreparedInput): Promise<Created> {
  const adapter = getAdapter(provider);
  const c = conn(provider);
  const ready = prepared ?? (await retried(() => adapter.prepareInput(c, input)));
  const batch = await retried(() => adapter.createBatch(c, { input, prepared: ready, endpoint: input.endpoint, completionWindow: '24h', metadata: null }));
  return { input, prepared: ready, batch };
}

/** Waits for the part's batch to end, then reads every result line the adapter gives for it. */
async function results(provider: string, created: Created): Promise<ResultLine[]> {
  const adapter = getAdapter(provider);
  const c = conn(provider);
  let batch = created.batch;
  const deadline = Date.now() + 30_000;
  while (!TERMINAL.includes(batch.status)) {
    if (Date.now() > deadline) throw new Error(`${provider} batch ${batch.id} still ${batch.status}`);
    await sleep(50);
    batch = await retried(() => adapter.retrieveBatch(c, created.batch.id));
  }
  expect(batch.status).toBe('completed');
  const lines: ResultLine[] = [];
  await retried(async () => {
    lines.length = 0;
    for await (const line of adapter.readResults(c, batch, created.input)) lines.push(line);
  });
  return lines;
}

/** Each result line is one of the part's own requests, answered from its own prompt, and every request has one. */
function expectOwnResults(lines: ResultLine[], run: string, part: number, n: number): void {
  const byId = new Map(lines.map((line) => [line.custom_id, line]));
  expect([...byId.keys()].sort()).toEqual(Array.from({ length: n }, (_, j) => `p${part}-r${j}`).sort());
  expect(lines).toHaveLength(n);
  for (let j = 0; j < n; j++) expect(JSON.stringify(byId.get(`p${part}-r${j}`))).toContain(prompt(run, part, j));
}

function batchesCreated(provider: string): number {
  return sandbox.stats().providers[provider].batchesCreated;
}

/** Requests per part: `n`, or the provider's minimum batch size when higher (Cerebras fails batches under 10). */
function sized(provider: string, n: number): number {
  return provider === 'cerebras' ? Math.max(n, 10) : n;
}

describe.each(PROVIDERS)('%s', (provider) => {
  test('a lost create answer, for a part split in two of equal size, ends with one provider batch per part, each with its own results', async () => {
    const batchId = `ab_lost_${provider}_${++runs}`;
    const run = `lost-${provider}-${runs}`;
    const n = sized(provider, 4);
    const parts = [0, 1].map((i) => partInput(provider, batchId, run, i, n));
    const adapter = getAdapter(provider);
    const prepared = await Promise.all(parts.map((p) => retried(() => adapter.prepareInput(conn(provider), p))));
    const before = batchesCreated(provider);
    const lostBefore = sandbox.stats().faults.lostCreates;
    // Both parts' first creates are made at the provider, and their answers lost.
    sandbox.setFaults({ loseCreateResponses: 2 });
    const created = await Promise.all(parts.map((p, i) => prepareAndCreate(provider, p, prepared[i])));
    expect(sandbox.stats().faults.lostCreates - lostBefore).toBe(2);
    expect(batchesCreated(provider) - before).toBe(2);
    expect(created[0].batch.id).not.toBe(created[1].batch.id);
    // Asked again (a later attempt of the step), each part finds its own batch, never the other's.
    for (const [i, p] of parts.entries()) expect((await prepareAndCreate(provider, p, prepared[i])).batch.id).toBe(created[i].batch.id);
    expect(batchesCreated(provider) - before).toBe(2);
    for (const [i, c] of created.entries()) expectOwnResults(await results(provider, c), run, i, n);
  });

  test('the lost answer may be a 5xx: still one provider batch', async () => {
    const batchId = `ab_lost5xx_${provider}_${++runs}`;
    const run = `lost5xx-${provider}-${runs}`;
    const n = sized(provider, 3);
    const part = partInput(provider, batchId, run, 0, n);
    const prepared = await retried(() => getAdapter(provider).prepareInput(conn(provider), part));
    const before = batchesCreated(provider);
    sandbox.setFaults({ loseCreateResponses: 1, lostCreateStatus: 502 });
    const created = await prepareAndCreate(provider, part, prepared);
    expect(batchesCreated(provider) - before).toBe(1);
    expectOwnResults(await results(provider, created), run, 0, n);
  });

  if (provider !== 'anthropic') {
    test("a run never adopts what an earlier run with the same batch id made: a corrected input of the same size runs the corrected prompts", async () => {
      const batchId = `ab_reused_${provider}_${++runs}`;
      const n = sized(provider, 3);
      const earlier = await prepareAndCreate(provider, partInput(provider, batchId, `earlierA${runs}`, 0, n));
      expectOwnResults(await results(provider, earlier), `earlierA${runs}`, 0, n);
      // The same batch id again (the earlier batch deleted, or another deployment's): same key, same sizes.
      const input = partInput(provider, batchId, `correctB${runs}`, 0, n);
      expect(input.bytes).toBe(earlier.input.bytes);
      const before = batchesCreated(provider);
      const again = await prepareAndCreate(provider, input);
      expect(again.batch.id).not.toBe(earlier.batch.id);
      expect(batchesCreated(provider) - before).toBe(1);
      expectOwnResults(await results(provider, again), `correctB${runs}`, 0, n);
    });
  }
});

describe('anthropic', () => {
  test("a stranger's batch with the same request count, made while our create's outcome is unknown, is not adopted", async () => {
    const provider = 'anthropic';
    const run = `stranger-${++runs}`;
    const n = 5;
    const input = partInput(provider, `ab_stranger_${runs}`, run, 0, n);
    const adapter = getAdapter(provider);
    const c = conn(provider);
    const prepared = await adapter.prepareInput(c, input);
    const request = { input, prepared, endpoint: input.endpoint, completionWindow: '24h', metadata: null };
    // Our create fails with no answer worth trusting (a 503 before the provider made anything)...
    sandbox.setFaults({ forceStatus: 503 });
    await expect(adapter.createBatch(c, request)).rejects.toMatchObject({ kind: 'transient' });
    sandbox.setFaults({});
    // ...while another team of the organisation creates a batch of the same size.
    const other = new Anthropic({ baseURL: sandbox.baseUrls.anthropic, apiKey: 'other-team', maxRetries: 0 });
    const stranger = await other.messages.batches.create({
      requests: Array.from({ length: n }, (_, j) => ({ custom_id: `p0-r${j}`, params: { model: MODELS.anthropic, max_tokens: 50, messages: [{ role: 'user', content: `Someone else's question ${j}` }] } })),
    });
    const before = batchesCreated(provider);
    const ours = await retried(() => adapter.createBatch(c, request));
    expect(ours.id).not.toBe(stranger.id);
    expect(batchesCreated(provider) - before).toBe(1);
    expectOwnResults(await results(provider, { input, prepared, batch: ours }), run, 0, n);
  });

  test("the stranger's batch is not adopted either when our create did reach the provider and its answer was lost", async () => {
    const provider = 'anthropic';
    const run = `stranger-lost-${++runs}`;
    const n = 5;
    const input = partInput(provider, `ab_stranger_lost_${runs}`, run, 0, n);
    const adapter = getAdapter(provider);
    const c = conn(provider);
    const prepared = await adapter.prepareInput(c, input);
    const request = { input, prepared, endpoint: input.endpoint, completionWindow: '24h', metadata: null };
    const before = batchesCreated(provider);
    sandbox.setFaults({ loseCreateResponses: 1 });
    await expect(adapter.createBatch(c, request)).rejects.toBeInstanceOf(ProviderError);
    const other = new Anthropic({ baseURL: sandbox.baseUrls.anthropic, apiKey: 'other-team', maxRetries: 0 });
    const stranger = await other.messages.batches.create({
      requests: Array.from({ length: n }, (_, j) => ({ custom_id: `p0-r${j}`, params: { model: MODELS.anthropic, max_tokens: 50, messages: [{ role: 'user', content: `Someone else's question ${j}` }] } })),
    });
    const ours = await retried(() => adapter.createBatch(c, request));
    expect(ours.id).not.toBe(stranger.id);
    // Ours (the lost one) and the stranger's: no third.
    expect(batchesCreated(provider) - before).toBe(2);
    expectOwnResults(await results(provider, { input, prepared, batch: ours }), run, 0, n);
  });
});

describe('gemini, with its requests uploaded as a file', () => {
  const fileMode = (input: ProviderInput): ProviderInput => ({ ...input, options: { maxInlineBytes: 10 } });

  test('an earlier run of the same batch id: neither its upload nor its batch is adopted; a lost create answer is found again', async () => {
    const provider = 'gemini';
    const batchId = `ab_gemfile_${++runs}`;
    const earlier = await prepareAndCreate(provider, fileMode(partInput(provider, batchId, `gemA${runs}`, 0, 3)));
    expect(earlier.prepared).toMatchObject({ kind: 'file' });
    expectOwnResults(await results(provider, earlier), `gemA${runs}`, 0, 3);
    const input = fileMode(partInput(provider, batchId, `gemB${runs}`, 0, 3));
    const prepared = await getAdapter(provider).prepareInput(conn(provider), input);
    expect(prepared).toMatchObject({ kind: 'file' });
    expect(prepared).not.toEqual(earlier.prepared);
    const before = batchesCreated(provider);
    sandbox.setFaults({ loseCreateResponses: 1 });
    const again = await prepareAndCreate(provider, input, prepared);
    expect(again.batch.id).not.toBe(earlier.batch.id);
    expect(batchesCreated(provider) - before).toBe(1);
    expectOwnResults(await results(provider, again), `gemB${runs}`, 0, 3);
  });
});

describe('anthropic, what carries the proof', () => {
  test("every custom_id sent carries the part's tag, and the results come back under the caller's ids", async () => {
    const provider = 'anthropic';
    const run = `tagged-${++runs}`;
    const input = partInput(provider, `ab_tagged_${runs}`, run, 0, 2);
    // An id Anthropic would refuse, and one too long to keep with a tag in front: both remapped, both mapped back.
    const lines = fs.readFileSync(input.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string });
    lines[0].custom_id = 'has.dot/and space';
    lines[1].custom_id = 'x'.repeat(60);
    fs.writeFileSync(input.path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const created = await prepareAndCreate(provider, input);
    const sent = fs.readFileSync(path.join(input.workDir, 'requests.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
    const tag = sent[0].split('_')[0];
    expect(tag).toMatch(/^[a-z2-7]{16}$/);
    for (const id of sent) expect(id).toMatch(new RegExp(`^${tag}_[A-Za-z0-9_-]+$`));
    const got = await results(provider, created);
    expect(got.map((l) => l.custom_id).sort()).toEqual(['has.dot/and space', 'x'.repeat(60)].sort());
  });

  test("results that do not carry the part's tag are refused, never merged", async () => {
    const provider = 'anthropic';
    const input = partInput(provider, `ab_refuse_${++runs}`, `refuse-${runs}`, 0, 2);
    await getAdapter(provider).prepareInput(conn(provider), input);
    const other = new Anthropic({ baseURL: sandbox.baseUrls.anthropic, apiKey: 'other-team', maxRetries: 0 });
    const stranger = await other.messages.batches.create({
      requests: [0, 1].map((j) => ({ custom_id: `p0-r${j}`, params: { model: MODELS.anthropic, max_tokens: 50, messages: [{ role: 'user', content: `Someone else's question ${j}` }] } })),
    });
    const batch = await getAdapter(provider).retrieveBatch(conn(provider), stranger.id);
    const err = await results(provider, { input, prepared: { kind: 'inline' }, batch }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'invalid_request', message: expect.stringContaining('which this part never sent') });
  });
});

describe('anthropic, with batches that take a while to end', () => {
  let slow: Sandbox;
  beforeAll(async () => {
    slow = await startSandbox({ rate: 4 });
  });
  afterAll(() => slow.close());
  const slowConn = (): ProviderConnection => ({ apiKey: 'k', apiBase: slow.baseUrls.anthropic });

  test('equal-size parts whose create answers were lost wait until their batches prove whose they are, then each takes its own', async () => {
    const run = `slow-${++runs}`;
    const n = 4;
    const parts = [0, 1].map((i) => partInput('anthropic', `ab_slow_${runs}`, run, i, n));
    const adapter = getAdapter('anthropic');
    for (const p of parts) await adapter.prepareInput(slowConn(), p);
    const before = slow.stats().messageBatchesCreated;
    slow.setFaults({ loseCreateResponses: 2 });
    const requests = parts.map((input) => ({ input, prepared: { kind: 'inline' as const }, endpoint: input.endpoint, completionWindow: '24h', metadata: null }));
    await Promise.all(requests.map((r) => expect(adapter.createBatch(slowConn(), r)).rejects.toBeInstanceOf(ProviderError)));
    // Both batches are in progress: neither can be proven yet, and neither part creates another.
    const created = await Promise.all(requests.map((r) => retried(() => adapter.createBatch(slowConn(), r))));
    expect(slow.stats().messageBatchesCreated - before).toBe(2);
    expect(created[0].id).not.toBe(created[1].id);
    for (const [i, batch] of created.entries()) {
      const lines: ResultLine[] = [];
      for await (const line of adapter.readResults(slowConn(), batch, parts[i])) lines.push(line);
      expectOwnResults(lines, run, i, n);
    }
  });

  test('past its wait, a candidate still in progress fails the create retryably, and nothing is created or adopted', async () => {
    const impatient = new AnthropicAdapter(anthropic.capabilities, providerInfo(anthropic), { maxMs: 300, firstPollMs: 50, maxPollMs: 100 });
    const input = partInput('anthropic', `ab_impatient_${++runs}`, `impatient-${runs}`, 0, 40);
    await impatient.prepareInput(slowConn(), input);
    const request = { input, prepared: { kind: 'inline' as const }, endpoint: input.endpoint, completionWindow: '24h', metadata: null };
    const before = slow.stats().messageBatchesCreated;
    slow.setFaults({ loseCreateResponses: 1 });
    await expect(impatient.createBatch(slowConn(), request)).rejects.toBeInstanceOf(ProviderError);
    const err = (await impatient.createBatch(slowConn(), request).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/may have made one of Anthropic batches msgbatch_\w+ .* still in_progress .* none is adopted, and no other batch is created/);
    expect(slow.stats().messageBatchesCreated - before).toBe(1);
    expect(JSON.parse(fs.readFileSync(path.join(input.workDir, 'create.json'), 'utf8'))).not.toHaveProperty('batchId');
  });
});

describe('anthropic, with batches that take a while to end (2)', () => {
  let slow: Sandbox;
  beforeAll(async () => {
    slow = await startSandbox({ rate: 2 });
  });
  afterAll(() => slow.close());

  test("a create the API refused (429) made no batch: the retry creates at once, without waiting on a stranger's", async () => {
    const c: ProviderConnection = { apiKey: 'k', apiBase: slow.baseUrls.anthropic };
    const impatient = new AnthropicAdapter(anthropic.capabilities, providerInfo(anthropic), { maxMs: 200, firstPollMs: 50, maxPollMs: 100 });
    const run = `refused-${++runs}`;
    const input = partInput('anthropic', `ab_refused_${runs}`, run, 0, 6);
    await impatient.prepareInput(c, input);
    const request = { input, prepared: { kind: 'inline' as const }, endpoint: input.endpoint, completionWindow: '24h', metadata: null };
    slow.setFaults({ forceStatus: 429 });
    await expect(impatient.createBatch(c, request)).rejects.toMatchObject({ kind: 'rate_limited' });
    slow.setFaults({});
    const other = new Anthropic({ baseURL: slow.baseUrls.anthropic, apiKey: 'other-team', maxRetries: 0 });
    const stranger = await other.messages.batches.create({
      requests: Array.from({ length: 6 }, (_, j) => ({ custom_id: `s${j}`, params: { model: MODELS.anthropic, max_tokens: 50, messages: [{ role: 'user', content: `Someone else's question ${j}` }] } })),
    });
    const ours = await impatient.createBatch(c, request);
    expect(ours.id).not.toBe(stranger.id);
    expect(ours.status).toBe('in_progress');
  });
});

describe('openai-compatible', () => {
  /** Temporal's semantics for the online batch workflows: one per workflow id, found again whatever its state. */
  function fakeHost(): OnlineHost & { batches: Map<string, Batch>; starts: OnlineBatchStart[] } {
    const batches = new Map<string, Batch>();
    const starts: OnlineBatchStart[] = [];
    return {
      batches,
      starts,
      async start(batch) {
        starts.push(batch);
        const id = `online_${batch.idempotencyKey.replace(/\//g, '_')}`;
        if (!batches.has(id)) {
          batches.set(id, { id, object: 'batch', endpoint: batch.spec.endpoint, input_file_id: '', completion_window: '24h', status: 'in_progress', created_at: batch.createdAt, request_counts: { total: batch.part.requestCount, completed: 0, failed: 0 } });
        }
        return id;
      },
      async read(id) {
        const batch = batches.get(id);
        if (!batch) throw new ProviderError('not_found', `no online batch ${id}`);
        return batch;
      },
      async cancel() {},
    };
  }

  function onlineInput(batchId: string, createdAt: number, run: string): ProviderInput {
    const input = partInput('openai', batchId, run, 0, 2);
    const spec = { batchId, provider: 'openai-compatible', endpoint: input.endpoint, completionWindow: '24h', createdAt } as BatchSpec;
    const part: PartPlan = { index: 0, path: input.path, requestCount: 2, bytes: input.bytes };
    return { ...input, origin: { spec, part } };
  }

  test("the online batch an earlier run left under the part's key is not adopted; a retried create finds its own", async () => {
    const host = fakeHost();
    const adapter = getAdapter('openai-compatible');
    const c: ProviderConnection = { apiKey: 'k', apiBase: 'http://127.0.0.1:9/v1', online: host };
    const batchId = `ab_online_${++runs}`;
    const earlierAt = Math.floor(Date.now() / 1000) - 7200;
    const earlier = onlineInput(batchId, earlierAt, `online-a-${runs}`);
    const old = await adapter.createBatch(c, { input: earlier, prepared: { kind: 'online' }, endpoint: earlier.endpoint, completionWindow: '24h', metadata: null });
    host.batches.set(old.id, { ...old, status: 'completed', created_at: earlierAt + 5 });

    const input = onlineInput(batchId, Math.floor(Date.now() / 1000), `online-b-${runs}`);
    const request = { input, prepared: { kind: 'online' as const }, endpoint: input.endpoint, completionWindow: '24h', metadata: null };
    const ours = await adapter.createBatch(c, request);
    expect(ours.id).not.toBe(old.id);
    expect(ours.status).toBe('in_progress');
    // The answer lost, the step tried again: the same online batch, no other.
    const count = host.batches.size;
    expect((await adapter.createBatch(c, request)).id).toBe(ours.id);
    expect(host.batches.size).toBe(count);
  });
});
