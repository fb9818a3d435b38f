/**
 * Every branch of the job workflow (`batchJob`, src/workflows/batch-job.ts) with STUBBED activities on Temporal's
 * time-skipping test server: plain functions stand in for `BatchActivities`, `JobActivities` and the admission
 * activities, each recording its calls, so each test says what the workflow did (which activities, with what, how
 * each part ended, what was written and merged) and how the batch ended.
 *
 * Time is locked (real time) until a test awaits the workflow's result; then the server skips to the next timer
 * whenever nothing is in flight (download backoffs, queue-limit backoffs, retry intervals of activities).
 *
 * Admission: by default every part is granted at once with a ticket naming no admission workflow (nothing to
 * signal). Tests that check what is given back name a workflow that does not exist (`admissionSink`): each release
 * is then a `admission.release` signal in the batch's history (its delivery fails, which the workflow tolerates).
 */
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { AdmissionActivities, AdmissionAnswer, AdmissionTarget } from '../../src/admission/messages';
import type { AdmissionRequest } from '../../src/admission/budget';
import type { AdmissionTicket } from '../../src/contract/admission';
import type { AwaitPartRequest, BatchActivities, JobActivities, PartFailure, RetryRound } from '../../src/contract/activities';
import type { AnybatchBatch, Batch, BatchResultFiles, BatchStatus } from '../../src/contract/batch';
import { MEMO_BATCH, cancelSignal, statusQuery, submittedUpdate } from '../../src/contract/messages';
import type { BatchJobInput, PartWaitResult } from '../../src/contract/part';
import type { PreparedInput } from '../../src/contract/prepared';
import type { RecoverablePart } from '../../src/contract/recovery';
import type { BatchSpec, PartPlan, PartResults } from '../../src/contract/spec';
import { findTool } from '../../src/temporal/tools';
import { quietRuntime } from '../support/env';

type Activities = BatchActivities & JobActivities & AdmissionActivities;
type Name = keyof Activities;

interface Call {
  name: Name;
  args: unknown[];
  /** The part the call is about, when it is about one. */
  part: number | null;
  /** Test-server time (skipped time included) when the call began. */
  at: number;
  /** The run of the workflow that made it. */
  runId: string;
  ok?: boolean;
  result?: unknown;
  error?: unknown;
}

let env: TestWorkflowEnvironment;
let workflowCode: string;
let suffix = 0;

beforeAll(async () => {
  quietRuntime();
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: findTool('temporal-test-server') } },
  });
  // Bundled once for the whole suite: each test's worker starts from it at once.
  ({ code: workflowCode } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quietLogger() }));
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

function quietLogger() {
  const noop = () => undefined;
  return { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop, child: () => quietLogger() } as never;
}

const sleepReal = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` (real time) until it returns truthy; throws `what` after `timeoutMs`. */
async function until<T>(what: string, fn: () => Promise<T | false | null | undefined> | T | false | null | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out (${timeoutMs} ms) waiting for: ${what}`);
    await sleepReal(50);
  }
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

// ---------------------------------------------------------------------------------------------------------------
// The stubs
// ---------------------------------------------------------------------------------------------------------------

class Recorder {
  readonly calls: Call[] = [];
  /** Provider batches as last returned by a stub, by id. */
  readonly batches = new Map<string, Batch>();

  of(name: Name, part?: number): Call[] {
    return this.calls.filter((c) => c.name === name && (part === undefined || c.part === part));
  }

  ok(name: Name, part?: number): Call[] {
    return this.of(name, part).filter((c) => c.ok);
  }

  /** Parts each (successful) call of `name` was about, in call order. */
  parts(name: Name, ok = true): number[] {
    return (ok ? this.ok(name) : this.of(name)).map((c) => c.part as number);
  }

  /** Successful writes of each part's results (from the provider, or an outcome for each request). */
  writes(): Map<number, number> {
    const out = new Map<number, number>();
    for (const c of [...this.ok('downloadPart'), ...this.ok('downloadPartResults')]) out.set(c.part!, (out.get(c.part!) ?? 0) + 1);
    return out;
  }

  /** The outcome code each part's requests were written with (`downloadPartResults`), by part. */
  outcomes(): Record<number, string | null> {
    const out: Record<number, string | null> = {};
    for (const c of this.ok('downloadPartResults')) out[c.part!] = (c.args[3] as { code: string } | null)?.code ?? null;
    return out;
  }
}

const batchId = (index: number) => `pb-${index}`;
const partOfBatchId = (id: string) => Number(/^pb-(\d+)$/.exec(id)?.[1] ?? NaN);

/** Plans of `counts[i]` requests each, consecutive in the input. */
function plansOf(counts: number[], firstIndex = 0, firstRequest = 0): PartPlan[] {
  let first = firstRequest;
  return counts.map((requestCount, i) => {
    const plan: PartPlan = { index: firstIndex + i, path: `stage/part-${firstIndex + i}.jsonl`, requestCount, bytes: 100 * requestCount, firstRequest: first };
    first += requestCount;
    return plan;
  });
}

function providerBatch(index: number, status: BatchStatus, total: number, atMs: number, completed = 0): Batch {
  return {
    id: batchId(index),
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: `file-${index}`,
    completion_window: '24h',
    status,
    created_at: Math.floor(atMs / 1000),
    request_counts: { total, completed, failed: 0 },
  };
}

const resultsOf = (part: PartPlan, outputCount: number, errorsCount: number): PartResults => ({
  outputPath: `results/part-${part.index}.output.jsonl`,
  errorsPath: `results/part-${part.index}.errors.jsonl`,
  outputCount,
  errorsCount,
});
const partOfResults = (r: PartResults) => Number(/part-(\d+)\.output/.exec(r.outputPath)?.[1] ?? NaN);

function nonRetryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** The ticket a granted (or queued) request gets: naming `sink` as its admission workflow, or none. */
const ticketOf = (request: AdmissionRequest, sink: string | null): AdmissionTicket => ({ workflowId: sink, id: request.id });

interface Setup {
  /** Request counts of the planned parts (default one part of 10). */
  parts?: number[];
  spec?: Partial<BatchSpec>;
  /** Admission workflow named in tickets (a workflow that does not exist): releases become signals in history. */
  admissionSink?: boolean;
  /** Stubs replacing the defaults; `rec` is the test's recorder. */
  stubs?: (rec: Recorder, ctx: Ctx) => Partial<Activities>;
}

interface Ctx {
  spec: BatchSpec;
  sink: string | null;
  /** Test-server time now. */
  now(): Promise<number>;
}

function defaults(rec: Recorder, ctx: Ctx, counts: number[]): Activities {
  return {
    async planParts() {
      return plansOf(counts);
    },
    async uploadPart(_spec, part): Promise<PreparedInput> {
      return { kind: 'file', fileId: `file-${part.index}` };
    },
    async createPartBatch(_spec, part) {
      return providerBatch(part.index, 'in_progress', part.requestCount, await ctx.now());
    },
    async retrieveProviderBatch(_spec, id) {
      return rec.batches.get(id) ?? providerBatch(partOfBatchId(id), 'in_progress', 0, await ctx.now());
    },
    async cancelProviderBatch(_spec, id) {
      const batch = rec.batches.get(id) ?? providerBatch(partOfBatchId(id), 'in_progress', 0, await ctx.now());
      return { ...batch, status: 'cancelling', cancelling_at: Math.floor((await ctx.now()) / 1000) };
    },
    async downloadPartResults(_spec, part, _batch, outcome) {
      return outcome ? resultsOf(part, 0, part.requestCount) : resultsOf(part, part.requestCount, 0);
    },
    async classifyPartFailure(_spec, batch, error): Promise<PartFailure> {
      return { kind: null, reason: error?.message ?? batch?.errors?.data?.[0]?.message ?? 'failed', maxRequests: null };
    },
    // A part refused for a queue limit goes again as a copy under a new index (a new idempotency key); a re-split is
    // stubbed by the tests that make one.
    async repartitionPart(_spec, part, firstIndex, maxRequests) {
      if (maxRequests === null) return [{ ...part, index: firstIndex, path: `${part.path}.copy-${firstIndex}` }];
      throw nonRetryable('not_stubbed', 'repartitionPart is not stubbed in this test');
    },
    async planRetryRound() {
      return [];
    },
    async mergeResults(_spec, parts): Promise<BatchResultFiles> {
      return {
        output_path: 'results/output.jsonl',
        errors_path: 'results/errors.jsonl',
        output_count: parts.reduce((a, p) => a + p.outputCount, 0),
        errors_count: parts.reduce((a, p) => a + p.errorsCount, 0),
      };
    },
    async requestWorkflowCancellation(id) {
      await env.client.workflow.getHandle(id).cancel();
    },
    async awaitPart(_spec, request): Promise<PartWaitResult> {
      const total = request.batch.request_counts?.total ?? 0;
      return { kind: 'terminal', batch: { ...request.batch, status: 'completed', request_counts: { total, completed: total, failed: 0 } } };
    },
    async downloadPart(_spec, part) {
      return resultsOf(part, part.requestCount, 0);
    },
    async requestAdmission(_target: AdmissionTarget, request: AdmissionRequest): Promise<AdmissionAnswer & { ticket: AdmissionTicket }> {
      return { granted: true, ahead: 0, reason: null, ticket: ticketOf(request, ctx.sink) };
    },
    async findGoneWorkflows() {
      return [];
    },
  };
}

function partOf(name: Name, args: unknown[]): number | null {
  switch (name) {
    case 'uploadPart':
    case 'createPartBatch':
    case 'downloadPartResults':
    case 'repartitionPart':
    case 'downloadPart':
      return (args[1] as PartPlan).index;
    case 'awaitPart':
      return (args[1] as AwaitPartRequest).part;
    case 'requestAdmission':
      return (args[1] as AdmissionRequest).part;
    case 'cancelProviderBatch':
    case 'retrieveProviderBatch':
      return partOfBatchId(args[1] as string);
    default:
      return null;
  }
}

function recorded(rec: Recorder, impl: Activities): Activities {
  const out = {} as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const [name, fn] of Object.entries(impl) as [Name, (...args: unknown[]) => Promise<unknown>][]) {
    out[name] = async (...args: unknown[]) => {
      const call: Call = { name, args, part: partOf(name, args), at: await env.currentTimeMs(), runId: Context.current().info.workflowExecution?.runId ?? '' };
      rec.calls.push(call);
      try {
        const result = await fn(...args);
        call.ok = true;
        call.result = result;
        const b = result as Partial<Batch> | PartWaitResult | undefined;
        if (b && typeof b === 'object' && 'object' in b && b.object === 'batch' && typeof b.id === 'string') rec.batches.set(b.id, b as Batch);
        if (b && typeof b === 'object' && 'kind' in b && 'batch' in b && b.batch) rec.batches.set(b.batch.id, b.batch);
        return result;
      } catch (err) {
        call.ok = false;
        call.error = err;
        throw err;
      }
    };
  }
  return out as unknown as Activities;
}

type Ending =
  | { ended: 'completed'; batch: AnybatchBatch }
  | { ended: 'failed'; type: string | undefined; batch: AnybatchBatch }
  | { ended: 'cancelled'; batch: AnybatchBatch };

/** Awaits the workflow (time skips meanwhile) and says how it ended, with the batch it ended with. */
async function ending(handle: WorkflowHandle): Promise<Ending> {
  try {
    return { ended: 'completed', batch: (await handle.result()) as AnybatchBatch };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    if (err.cause instanceof CancelledFailure) {
      // The SDK ends a cancelled workflow without the failure's details: the batch is read from the memo (as
      // `anybatch get` does).
      const memo = (await env.client.workflow.getHandle(handle.workflowId).describe()).memo ?? {};
      return { ended: 'cancelled', batch: (err.cause.details?.[0] ?? memo[MEMO_BATCH]) as AnybatchBatch };
    }
    if (err.cause instanceof ApplicationFailure) return { ended: 'failed', type: err.cause.type ?? undefined, batch: err.cause.details?.[0] as AnybatchBatch };
    throw err;
  }
}

interface Run {
  rec: Recorder;
  spec: BatchSpec;
  handle: WorkflowHandleWithFirstExecutionRunId;
  taskQueue: string;
}

function specOf(id: string, counts: number[], startMs: number, over: Partial<BatchSpec> = {}): BatchSpec {
  const requestCount = counts.reduce((a, b) => a + b, 0);
  return {
    batchId: id,
    provider: 'openai',
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: null,
    createdAt: Math.floor(startMs / 1000),
    input: { path: 'stage/input.jsonl', requestCount, bytes: 100 * requestCount, model: 'gpt-4o-mini' },
    resultsDir: 'results',
    pollIntervalMs: 60_000,
    connection: { apiBase: null, sealed: null },
    maxRequestsPerPart: null,
    providerOptions: {},
    searchAttributes: false,
    ...over,
  };
}

/**
 * Starts `batchJob` on a worker of its own (a task queue of its own) with the stubs, runs `body` with it while the
 * worker runs, and terminates the workflow should `body` fail (so no run of it is left to hold the test server's
 * clock).
 */
async function withBatch<T>(name: string, setup: Setup, body: (run: Run) => Promise<T>): Promise<T> {
  const taskQueue = `branches-${name}-${++suffix}-${Date.now().toString(36)}`;
  const counts = setup.parts ?? [10];
  const spec = specOf(`ab_${name}_${suffix}`, counts, await env.currentTimeMs(), setup.spec);
  const rec = new Recorder();
  const ctx: Ctx = { spec, sink: setup.admissionSink ? `admission-sink-${taskQueue}` : null, now: () => env.currentTimeMs() };
  const activities = recorded(rec, { ...defaults(rec, ctx, counts), ...(setup.stubs?.(rec, ctx) ?? {}) });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { code: workflowCode },
    activities,
    shutdownGraceTime: '1s',
  });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start('batchJob', { workflowId: spec.batchId, taskQueue, args: [{ spec } satisfies BatchJobInput] });
    try {
      return await body({ rec, spec, handle, taskQueue });
    } catch (err) {
      await env.client.workflow.getHandle(spec.batchId).terminate('test failed').catch(() => undefined);
      throw err;
    }
  });
}

/** Each of `parts` had its results written exactly once, and no other part had any. */
function expectWrittenOnce(rec: Recorder, parts: number[]): void {
  const writes = rec.writes();
  expect(Object.fromEntries([...writes].sort(([a], [b]) => a - b))).toEqual(Object.fromEntries(parts.map((p) => [p, 1])));
}

/**
 * The merge ran once and got the results of exactly `parts` (and `superseded`, when given), and the given-up parts to
 * record for a recovery (`recoverable`: [part, provider batch id, code] each; none when not given).
 */
function expectMerged(rec: Recorder, parts: number[], superseded?: number[], recoverable?: [number, string, string][]): void {
  const merges = rec.ok('mergeResults');
  expect(merges).toHaveLength(1);
  const given = merges[0].args[1] as PartResults[];
  expect(given.map(partOfResults).sort((a, b) => a - b)).toEqual([...parts].sort((a, b) => a - b));
  const sup = merges[0].args[2] as number[] | undefined;
  expect(sup !== undefined && sup.length > 0 ? sup : undefined).toEqual(superseded);
  const kept = merges[0].args[3] as RecoverablePart[] | undefined;
  expect(kept?.map((r) => [r.plan.index, r.providerBatchId, r.code])).toEqual(recoverable);
}

interface HistoryEvent {
  eventType?: number | null;
  timerStartedEventAttributes?: { startToFireTimeout?: { seconds?: unknown; nanos?: number | null } | null } | null;
  signalExternalWorkflowExecutionInitiatedEventAttributes?: { signalName?: string | null; input?: { payloads?: Payload[] | null } | null } | null;
  workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId?: string | null; input?: { payloads?: Payload[] | null } | null } | null;
}

async function historyOf(handle: WorkflowHandle, runId?: string): Promise<HistoryEvent[]> {
  const h = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
  return (h.events ?? []) as HistoryEvent[];
}

/** Ids of the admission tickets the workflow gave back (its `admission.release` signals), in order. */
function releasesIn(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const a = e.signalExternalWorkflowExecutionInitiatedEventAttributes;
    if (!a || a.signalName !== 'admission.release') return [];
    return [defaultPayloadConverter.fromPayload<{ id: string }>(a.input!.payloads![0]).id];
  });
}

const seconds = (d: { seconds?: unknown } | null | undefined) => Number(d?.seconds ?? 0);

// ---------------------------------------------------------------------------------------------------------------
// The branches
// ---------------------------------------------------------------------------------------------------------------

test('1. cancel before submit: nothing is created, every request is written batch_cancelled, the batch ends cancelled', async () => {
  const planned = deferred();
  const release = deferred();
  await withBatch('cancel-before-submit', {
    parts: [4, 6],
    stubs: () => ({
      async planParts() {
        planned.resolve();
        await release.promise; // held until the cancel is in the history
        return plansOf([4, 6]);
      },
    }),
  }, async ({ rec, handle }) => {
    await planned.promise;
    await handle.signal(cancelSignal);
    release.resolve();
    const end = await ending(handle);

    expect(end.ended).toBe('cancelled');
    expect(end.batch.status).toBe('cancelled');
    expect(rec.of('createPartBatch')).toHaveLength(0);
    expect(rec.of('uploadPart')).toHaveLength(0);
    expect(rec.of('requestAdmission')).toHaveLength(0);
    expect(rec.outcomes()).toEqual({ 0: 'batch_cancelled', 1: 'batch_cancelled' });
    expectWrittenOnce(rec, [0, 1]);
    expectMerged(rec, [0, 1]);
    expect(rec.ok('requestWorkflowCancellation')).toHaveLength(1);
    expect(end.batch.request_counts).toEqual({ total: 10, completed: 0, failed: 10 });
  });
});

test('1b. cancel while a part runs: its wait is interrupted, the provider cancel is sent at once, what it produced is downloaded', async () => {
  const waiting = deferred();
  const cancelSent = deferred();
  await withBatch('cancel-running', {
    parts: [10],
    stubs: (rec) => ({
      async awaitPart(_spec, request): Promise<PartWaitResult> {
        if (rec.of('awaitPart').length === 1) {
          waiting.resolve();
          await cancelSent.promise; // the wait goes on until the workflow sent the cancel (it no longer listens)
          return { kind: 'progress', batch: request.batch };
        }
        return { kind: 'terminal', batch: { ...request.batch, status: 'cancelled', request_counts: { total: 10, completed: 3, failed: 0 } } };
      },
      async cancelProviderBatch(_spec, id) {
        cancelSent.resolve();
        return { ...rec.batches.get(id)!, status: 'cancelling' };
      },
    }),
  }, async ({ rec, handle }) => {
    await waiting.promise;
    await handle.signal(cancelSignal);
    const end = await ending(handle);

    expect(end.ended).toBe('cancelled');
    expect(end.batch.status).toBe('cancelled');
    expect(rec.parts('cancelProviderBatch', false)).toEqual([0]);
    const waits = rec.of('awaitPart');
    expect(waits).toHaveLength(2);
    expect((waits[1].args[1] as AwaitPartRequest).batch.status).toBe('cancelling');
    expect(rec.of('cancelProviderBatch')[0].at).toBeLessThan(waits[1].at + 1);
    expect(rec.ok('downloadPart').map((c) => (c.args[2] as Batch).status)).toEqual(['cancelled']);
    expect(rec.of('downloadPartResults')).toHaveLength(0);
    expectWrittenOnce(rec, [0]);
    expectMerged(rec, [0]);
  });
});

test("1c. Temporal's cancellation is a graceful cancel too: parts not yet submitted are written batch_cancelled, the workflow ends cancelled", async () => {
  const planned = deferred();
  const release = deferred();
  await withBatch('temporal-cancel', {
    parts: [4, 6],
    stubs: () => ({
      async planParts() {
        planned.resolve();
        await release.promise;
        return plansOf([4, 6]);
      },
    }),
  }, async ({ rec, handle }) => {
    await planned.promise;
    await handle.cancel();
    release.resolve();
    const end = await ending(handle);

    expect(end.ended).toBe('cancelled');
    expect(end.batch.status).toBe('cancelled');
    expect(rec.of('createPartBatch')).toHaveLength(0);
    expect(rec.of('requestWorkflowCancellation')).toHaveLength(0); // Temporal was asked already
    expect(rec.outcomes()).toEqual({ 0: 'batch_cancelled', 1: 'batch_cancelled' });
    expectWrittenOnce(rec, [0, 1]);
    expectMerged(rec, [0, 1]);
  });
});

test('2. nothing reached the provider (provider_auth): the other parts are not tried, all requests accounted, the batch fails', async () => {
  await withBatch('provider-auth', {
    parts: [3, 3, 4],
    spec: { submitConcurrency: 1 },
    stubs: () => ({
      async createPartBatch() {
        throw nonRetryable('provider_auth', '401 Incorrect API key provided');
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('failed');
    if (end.ended !== 'failed') return;
    expect(end.type).toBe('BatchFailed');
    expect(end.batch.status).toBe('failed');
    expect(end.batch.anybatch.failure).toBe('401 Incorrect API key provided');
    expect(end.batch.anybatch.provider_batches).toEqual([]);
    // The first part met a batch-wide failure: the others settled with it, untried.
    expect(rec.parts('createPartBatch', false)).toEqual([0]);
    expect(rec.parts('uploadPart', false)).toEqual([0]);
    expect(rec.outcomes()).toEqual({ 0: 'provider_auth', 1: 'provider_auth', 2: 'provider_auth' });
    expectWrittenOnce(rec, [0, 1, 2]);
    expectMerged(rec, [0, 1, 2]);
    const written = rec.ok('downloadPartResults').reduce((a, c) => a + (c.result as PartResults).errorsCount, 0);
    expect(written).toBe(10);
  });
});

test('2b. planning fails for good: the whole input is one part that never reached the provider, written with the failure; the batch fails', async () => {
  await withBatch('plan-failed', {
    parts: [7],
    stubs: () => ({
      async planParts() {
        throw nonRetryable('storage_unreadable', 'cannot read stage/input.jsonl: access denied');
      },
    }),
  }, async ({ rec, handle, spec }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('failed');
    if (end.ended !== 'failed') return;
    expect(end.type).toBe('BatchFailed');
    expect(end.batch.anybatch.failure).toBe('cannot read stage/input.jsonl: access denied');
    expect(rec.of('requestAdmission')).toHaveLength(0);
    expect(rec.of('createPartBatch')).toHaveLength(0);
    expect(rec.outcomes()).toEqual({ 0: 'storage_unreadable' });
    expect(rec.ok('downloadPartResults')[0].args[1]).toMatchObject({ index: 0, path: spec.input.path, requestCount: 7 });
    expectWrittenOnce(rec, [0]);
    expectMerged(rec, [0]);
    expect(end.batch.request_counts).toEqual({ total: 7, completed: 0, failed: 7 });
  });
});

test('3. a part whose status cannot be read is given up (cancel attempted); the other completes; the batch fails', async () => {
  await withBatch('unreadable', {
    parts: [5, 5],
    stubs: () => ({
      async awaitPart(_spec, request) {
        if (request.part === 0) return { kind: 'unreadable', code: 'provider_not_found', error: '404 No batch found with id pb-0' };
        const total = request.batch.request_counts?.total ?? 0;
        return { kind: 'terminal', batch: { ...request.batch, status: 'completed', request_counts: { total, completed: total, failed: 0 } } };
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('failed');
    if (end.ended !== 'failed') return;
    expect(end.type).toBe('BatchFailed');
    expect(end.batch.status).toBe('failed');
    expect(rec.parts('cancelProviderBatch', false)).toEqual([0]);
    expect(rec.outcomes()).toEqual({ 0: 'status_unreadable' });
    expect(rec.parts('downloadPart')).toEqual([1]);
    expectWrittenOnce(rec, [0, 1]);
    // The given-up part is recorded for `anybatch recover`, and the batch says one part can be recovered.
    expectMerged(rec, [0, 1], undefined, [[0, 'pb-0', 'status_unreadable']]);
    expect(end.batch.anybatch.recoverable).toBe(1);
    expect(end.batch.errors?.data?.map((e) => e.code)).toContain('status_unreadable');
    // The unreadable part's provider batch is kept (its id stays in the batch).
    expect(end.batch.anybatch.provider_batches.map((b) => b.id)).toEqual(['pb-0', 'pb-1']);
  });
});

test('3b. a status read failing for a while is shown as retrying (step poll), and cleared once it reads again', async () => {
  let seen: AnybatchBatch | null = null;
  await withBatch('status-failing', {
    stubs: (rec, ctx) => ({
      async awaitPart(spec, request): Promise<PartWaitResult> {
        if (rec.of('awaitPart').length === 1) return { kind: 'failing', error: '502 Bad Gateway', sinceMs: await ctx.now() };
        seen ??= await env.client.workflow.getHandle(spec.batchId).query(statusQuery);
        const total = request.batch.request_counts?.total ?? 0;
        return { kind: 'terminal', batch: { ...request.batch, status: 'completed', request_counts: { total, completed: total, failed: 0 } } };
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('completed');
    expect(seen?.anybatch.retrying).toMatchObject({ step: 'poll', error: '502 Bad Gateway' });
    const waits = rec.of('awaitPart').map((c) => c.args[1] as AwaitPartRequest);
    expect(waits[0].failingSinceMs).toBeNull();
    expect(waits[1].failingSinceMs).toBe((rec.of('awaitPart')[0].result as { sinceMs: number }).sinceMs);
    expect(end.batch.anybatch.retrying ?? null).toBeNull();
    expectWrittenOnce(rec, [0]);
  });
});

test('4. past its deadline a part is cancelled, and at the second deadline given up as batch_expired: the batch expires', async () => {
  await withBatch('deadline', {
    spec: { cancelGraceMs: 3_600_000 },
    stubs: () => ({
      async awaitPart(_spec, request) {
        return { kind: 'deadline', batch: request.batch };
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('failed');
    if (end.ended !== 'failed') return;
    expect(end.type).toBe('BatchExpired');
    expect(end.batch.status).toBe('expired');
    expect(rec.parts('cancelProviderBatch', false)).toEqual([0]);
    const waits = rec.of('awaitPart');
    expect(waits).toHaveLength(2);
    // After the cancel, the part's deadline is the cancel grace from then.
    const second = waits[1].args[1] as AwaitPartRequest;
    expect(second.batch.status).toBe('cancelling');
    const cancelAt = rec.of('cancelProviderBatch')[0].at;
    expect(second.deadlineMs).toBeGreaterThanOrEqual(cancelAt + 3_600_000 - 5_000);
    expect(second.deadlineMs).toBeLessThanOrEqual(cancelAt + 3_600_000 + 5_000);
    expect(rec.outcomes()).toEqual({ 0: 'batch_expired' });
    expect(rec.of('downloadPart')).toHaveLength(0);
    expectWrittenOnce(rec, [0]);
    expectMerged(rec, [0], undefined, [[0, 'pb-0', 'batch_expired']]);
  });
});

test('5. a download failing for a day is retried with the workflow backoff (at most an hour), shown as retrying, then completes', async () => {
  const DAY = 24 * 3600_000;
  let firstAt: number | null = null;
  let seen: AnybatchBatch | null = null;
  await withBatch('download-retry', {
    parts: [5, 5],
    stubs: (rec, ctx) => ({
      async downloadPart(spec, part) {
        if (part.index === 0) {
          const now = await ctx.now();
          firstAt ??= now;
          // The second round: the first round's failure is in the workflow's state, shown by the query.
          if (seen === null && rec.of('downloadPart', 0).length === 6) seen = await env.client.workflow.getHandle(spec.batchId).query(statusQuery);
          if (now < firstAt + DAY) throw ApplicationFailure.create({ type: 'storage_unavailable', message: '503 Slow Down', nonRetryable: false });
        }
        return resultsOf(part, part.requestCount, 0);
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('completed');
    expect(end.batch.status).toBe('completed');
    expect(seen?.anybatch.retrying).toMatchObject({ step: 'download', error: 'part 0: 503 Slow Down' });
    expect(end.batch.anybatch.retrying ?? null).toBeNull();
    const calls = rec.of('downloadPart', 0);
    expect(calls[calls.length - 1].ok).toBe(true);
    expect(calls[calls.length - 1].at - calls[0].at).toBeGreaterThanOrEqual(DAY);
    expectWrittenOnce(rec, [0, 1]);
    expectMerged(rec, [0, 1]);
    // The workflow's own backoff: doubling from a minute, never more than an hour.
    const timers = (await historyOf(handle)).flatMap((e) => (e.timerStartedEventAttributes ? [seconds(e.timerStartedEventAttributes.startToFireTimeout)] : []));
    expect(timers.length).toBeGreaterThan(20);
    expect(timers.slice(0, 4)).toEqual([60, 120, 240, 480]);
    expect(Math.max(...timers)).toBe(3600);
  });
});

test('6. a download failing for good gives the part up as results_unavailable: its requests are written as errors, the batch fails', async () => {
  await withBatch('download-permanent', {
    parts: [5, 5],
    stubs: () => ({
      async downloadPart(_spec, part) {
        if (part.index === 0) throw nonRetryable('provider_not_found', '404 output file file-out-0 not found');
        return resultsOf(part, part.requestCount, 0);
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('failed');
    if (end.ended !== 'failed') return;
    expect(end.type).toBe('BatchFailed');
    expect(end.batch.status).toBe('failed');
    expect(rec.of('downloadPart', 0)).toHaveLength(1);
    expect(rec.outcomes()).toEqual({ 0: 'results_unavailable' });
    // The provider batch is handed over, its id stays in the batch.
    expect((rec.ok('downloadPartResults', 0)[0].args[2] as Batch).id).toBe('pb-0');
    expectWrittenOnce(rec, [0, 1]);
    expectMerged(rec, [0, 1], undefined, [[0, 'pb-0', 'results_unavailable']]);
    expect(end.batch.request_counts).toEqual({ total: 10, completed: 5, failed: 5 });
  });
});

test('7. a cancel withdraws the parts waiting for admission: they never create and end batch_cancelled', async () => {
  await withBatch('admission-withdrawn', {
    parts: [5, 5],
    admissionSink: true,
    stubs: (_rec, ctx) => ({
      async requestAdmission(_target, request) {
        return { granted: false, ahead: request.part, reason: 'enqueued tokens: 2,000,000 of 2,000,000 in use', ticket: ticketOf(request, ctx.sink) };
      },
    }),
  }, async ({ rec, handle }) => {
    await until('both parts queued for admission', async () => {
      const batch = await handle.query(statusQuery);
      return batch.anybatch.queued?.parts === 2 && batch.anybatch.queued;
    });
    expect((await handle.query(statusQuery)).anybatch.queued).toMatchObject({ cause: 'admission', reason: 'enqueued tokens: 2,000,000 of 2,000,000 in use' });
    await handle.signal(cancelSignal);
    const end = await ending(handle);

    expect(end.ended).toBe('cancelled');
    expect(end.batch.status).toBe('cancelled');
    expect(rec.parts('requestAdmission')).toEqual([0, 1]);
    expect(rec.of('uploadPart')).toHaveLength(0);
    expect(rec.of('createPartBatch')).toHaveLength(0);
    expect(rec.outcomes()).toEqual({ 0: 'batch_cancelled', 1: 'batch_cancelled' });
    expectWrittenOnce(rec, [0, 1]);
    expectMerged(rec, [0, 1]);
    // Each waiting request was withdrawn once.
    expect(releasesIn(await historyOf(handle)).sort()).toEqual([`${handle.workflowId}/0`, `${handle.workflowId}/1`]);
  });
});

test('8. retryFailed: one retry round of the failed requests, merged with the first round superseded', async () => {
  await withBatch('retry-rounds', {
    parts: [5, 5],
    spec: { retryFailed: { rounds: 1, codes: ['rate_limit_exceeded'] } },
    stubs: () => ({
      async downloadPart(_spec, part) {
        // Round 0: two requests of each part failed with rate_limit_exceeded; the retry round's all succeed.
        return part.index < 2 ? resultsOf(part, part.requestCount - 2, 2) : resultsOf(part, part.requestCount, 0);
      },
      async planRetryRound(_spec, round: RetryRound) {
        return round.round === 1 ? plansOf([4], round.firstIndex) : [];
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('completed');
    expect(end.batch.status).toBe('completed');
    const rounds = rec.of('planRetryRound');
    expect(rounds).toHaveLength(1);
    const asked = rounds[0].args[1] as RetryRound;
    expect(asked.round).toBe(1);
    expect(asked.firstIndex).toBe(2);
    expect(asked.from.map(partOfResults).sort()).toEqual([0, 1]);
    expect(rec.parts('createPartBatch')).toEqual([0, 1, 2]);
    expectWrittenOnce(rec, [0, 1, 2]);
    expectMerged(rec, [0, 1, 2], [0, 1]);
    expect(end.batch.anybatch.retries).toEqual({ rounds: 1, rounds_run: 1, retried: 4, recovered_by_round: [4] });
  });
});

test('9. a create refused for its size re-splits the part: both new parts are created and downloaded', async () => {
  await withBatch('resplit-create', {
    parts: [10],
    admissionSink: true,
    stubs: (_rec, ctx) => ({
      async createPartBatch(_spec, part) {
        if (part.index === 0) throw nonRetryable('provider_invalid_request', '400 too many requests in one batch: at most 5');
        return providerBatch(part.index, 'in_progress', part.requestCount, await ctx.now());
      },
      async classifyPartFailure(_spec, _batch, error) {
        return error?.message.includes('too many requests') ? { kind: 'too_large', reason: error.message, maxRequests: 5 } : { kind: null, reason: 'x', maxRequests: null };
      },
      async repartitionPart(_spec, part, firstIndex) {
        return plansOf([5, 5], firstIndex, part.firstRequest);
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('completed');
    expect(end.batch.status).toBe('completed');
    const classify = rec.of('classifyPartFailure')[0];
    expect(classify.args[1]).toBeNull();
    expect(classify.args[2]).toEqual({ code: 'provider_invalid_request', message: '400 too many requests in one batch: at most 5' });
    const split = rec.ok('repartitionPart');
    expect(split).toHaveLength(1);
    expect(split[0].args[2]).toBe(1); // the new parts' indices come after every part's
    expect(split[0].args[3]).toBe(5); // at most the stated limit
    expect(rec.parts('createPartBatch', false)).toEqual([0, 1, 2]);
    expect(rec.parts('createPartBatch')).toEqual([1, 2]);
    expect(rec.parts('downloadPart').sort()).toEqual([1, 2]);
    expectWrittenOnce(rec, [1, 2]);
    expectMerged(rec, [1, 2]);
    expect(end.batch.request_counts).toEqual({ total: 10, completed: 10, failed: 0 });
    // Every share of the admission budget was given back once.
    const id = handle.workflowId;
    expect(releasesIn(await historyOf(handle)).sort()).toEqual([`${id}/0`, `${id}/1`, `${id}/2`]);
  });
});

test('10. a create refused for a queue limit goes again after the backoff (time skips) and completes', async () => {
  await withBatch('queue-limit', {
    spec: { queueLimitRetry: { initialMs: 120_000, maxMs: 600_000, giveUpAfterMs: 3_600_000 } },
    stubs: (rec, ctx) => ({
      async createPartBatch(_spec, part) {
        if (rec.of('createPartBatch').length === 1) throw nonRetryable('provider_rate_limited', '429 Enqueued token limit reached');
        return providerBatch(part.index, 'in_progress', part.requestCount, await ctx.now());
      },
      async classifyPartFailure(_spec, _batch, error) {
        return { kind: error?.code === 'provider_rate_limited' ? 'queue_limit' : null, reason: error?.message ?? '', maxRequests: null };
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('completed');
    expect(end.batch.status).toBe('completed');
    // The refused part goes again as its copy, part 1 (a new idempotency key), after the backoff.
    const creates = rec.of('createPartBatch');
    expect(creates.map((c) => [c.part, c.ok])).toEqual([[0, false], [1, true]]);
    expect(creates[1].at - creates[0].at).toBeGreaterThanOrEqual(120_000);
    expect(creates[1].at - creates[0].at).toBeLessThan(180_000);
    expect(rec.of('repartitionPart').map((c) => c.args[3])).toEqual([null]);
    // Submitted again from the start: admission and upload too.
    expect(rec.parts('requestAdmission')).toEqual([0, 1]);
    expect(rec.parts('uploadPart')).toEqual([0, 1]);
    expectWrittenOnce(rec, [1]);
    expectMerged(rec, [1]);
  });
});

test('10b. a part refused again and again for a queue limit waits longer each time and is settled queue_limit after the bound', async () => {
  // 1 min, then 2 min, then 4 min: the fourth refusal comes 7 min after the first, past the 5-minute bound.
  const REFUSALS = 8; // the provider relents after this many (so a workflow that never gives up still ends)
  await withBatch('queue-limit-bound', {
    spec: { queueLimitRetry: { initialMs: 60_000, maxMs: 600_000, giveUpAfterMs: 300_000 } },
    stubs: (rec, ctx) => ({
      async createPartBatch(_spec, part) {
        if (rec.of('createPartBatch').length <= REFUSALS) throw nonRetryable('provider_rate_limited', '429 Enqueued token limit reached');
        return providerBatch(part.index, 'in_progress', part.requestCount, await ctx.now());
      },
      async classifyPartFailure(_spec, _batch, error) {
        return { kind: error?.code === 'provider_rate_limited' ? 'queue_limit' : null, reason: error?.message ?? '', maxRequests: null };
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    // Each copy carries the refusals so far: the backoff doubles across them, and the bound holds.
    const creates = rec.of('createPartBatch');
    const gaps = creates.slice(1).map((c, i) => Math.round((c.at - creates[i].at) / 60_000));
    expect(gaps).toEqual([1, 2, 4]);
    expect(creates.map((c) => [c.part, c.ok])).toEqual([[0, false], [1, false], [2, false], [3, false]]);
    expect(rec.outcomes()).toEqual({ 3: 'queue_limit' });
    expect(end.ended).toBe('failed');
    expect(end.batch.status).toBe('failed');
    expectWrittenOnce(rec, [3]);
    expectMerged(rec, [3]);
  });
});

test('10c. a provider batch failed as it was created for a queue limit (token_limit_exceeded) goes again after the backoff', async () => {
  await withBatch('queue-limit-failed-at-create', {
    spec: { queueLimitRetry: { initialMs: 60_000, maxMs: 600_000, giveUpAfterMs: 3_600_000 } },
    admissionSink: true,
    stubs: (rec, ctx) => ({
      async createPartBatch(_spec, part) {
        const at = await ctx.now();
        if (rec.of('createPartBatch').length === 1) {
          const errors = { object: 'list', data: [{ code: 'token_limit_exceeded', message: 'Enqueued token limit reached for gpt-4o-mini', param: null, line: null }] };
          return { ...providerBatch(part.index, 'failed', part.requestCount, at), id: `pb-${part.index}-refused`, errors };
        }
        return providerBatch(part.index, 'in_progress', part.requestCount, at);
      },
      async classifyPartFailure(_spec, batch) {
        const code = batch?.errors?.data?.[0]?.code;
        return code === 'token_limit_exceeded' ? { kind: 'queue_limit', reason: 'token_limit_exceeded', maxRequests: null } : { kind: null, reason: String(code), maxRequests: null };
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('completed');
    expect(end.batch.status).toBe('completed');
    const creates = rec.of('createPartBatch');
    expect(creates.map((c) => c.part)).toEqual([0, 1]);
    expect(creates[1].at - creates[0].at).toBeGreaterThanOrEqual(60_000);
    expect((rec.of('classifyPartFailure')[0].args[1] as Batch).id).toBe('pb-0-refused');
    // Only the batch that ran is read and shown; the refused one has no results to write.
    expect(rec.of('downloadPart').map((c) => (c.args[2] as Batch).id)).toEqual(['pb-1']);
    expect(rec.of('awaitPart').map((c) => (c.args[1] as AwaitPartRequest).batch.id)).toEqual(['pb-1']);
    expect(end.batch.anybatch.provider_batches.map((b) => b.id)).toEqual(['pb-1']);
    expectWrittenOnce(rec, [1]);
    expectMerged(rec, [1]);
    // The share held by the refused batch went back before its copy asked, and the copy's at its end.
    const id = handle.workflowId;
    expect(rec.parts('requestAdmission')).toEqual([0, 1]);
    expect(releasesIn(await historyOf(handle))).toEqual([`${id}/0`, `${id}/1`]);
  });
});

/**
 * History driven past 4,000 events by running parts that report progress (in the first run): parts 4 and 5 for their
 * first `SHARED_PROGRESS` waits (then they end), part 0 until the workflow stops waiting on it. So when the workflow
 * drains, no wait is in flight: the time-skipping test server refuses the cancel of an activity that completed while
 * the workflow task ran (`ACTIVITY_UNKNOWN`) where a real server records it, and its workflow then stalls.
 * Every other wait, and every wait of the later run, ends terminal at once.
 */
const DRIVER = 0;
const HELPERS = [4, 5];
const SHARED_PROGRESS = 120;

function inFirstRun(firstRun: () => string | null): boolean {
  const run = firstRun();
  return run === null || Context.current().info.workflowExecution?.runId === run;
}

function progressUntilDrained(firstRun: () => string | null) {
  const progress = new Map<number, number>();
  return async (_spec: BatchSpec, request: AwaitPartRequest): Promise<PartWaitResult> => {
    const total = request.batch.request_counts?.total ?? 0;
    const n = (progress.get(request.part) ?? 0) + 1;
    progress.set(request.part, n);
    if (inFirstRun(firstRun) && (request.part === DRIVER || (HELPERS.includes(request.part) && n <= SHARED_PROGRESS))) {
      return { kind: 'progress', batch: { ...request.batch, status: 'in_progress', request_counts: { total, completed: 0, failed: 0 }, progress: n % 100 } };
    }
    return { kind: 'terminal', batch: { ...request.batch, status: 'completed', request_counts: { total, completed: total, failed: 0 } } };
  };
}

/** True once the history passed 4,000 events and the driver stopped being awaited (the workflow is draining). */
async function drained(rec: Recorder, workflowId: string, firstRun: string): Promise<boolean> {
  const d = await env.client.workflow.getHandle(workflowId, firstRun).describe();
  if (d.historyLength <= 4_000) {
    await sleepReal(100);
    return false;
  }
  const waits = () => rec.calls.filter((c) => c.name === 'awaitPart' && c.part === DRIVER).length;
  const before = waits();
  await sleepReal(800);
  return waits() === before;
}

test('11. continue-as-new while parts run, wait on a queue-limit backoff, wait for admission and download: each part created and written once', async () => {
  let firstRun: string | null = null;
  let downloadSawDrain = false;
  const started = deferred<string>();
  await withBatch('continue-as-new', {
    parts: [10, 10, 10, 10, 10, 10],
    spec: { submitConcurrency: 6, queueLimitRetry: { initialMs: 30 * 60_000, maxMs: 30 * 60_000, giveUpAfterMs: 24 * 3600_000 } },
    stubs: (rec, ctx) => ({
      awaitPart: progressUntilDrained(() => firstRun),
      // Part 2 waits for admission in the first run, and is granted at once in the next.
      async requestAdmission(_target, request) {
        if (request.part === 2 && inFirstRun(() => firstRun)) return { granted: false, ahead: 0, reason: 'batches: 1 of 1 in use', ticket: ticketOf(request, null) };
        return { granted: true, ahead: 0, reason: null, ticket: ticketOf(request, null) };
      },
      // Part 1 is refused once for a queue limit: it waits 30 min (not elapsing while time is locked).
      async createPartBatch(_spec, part) {
        if (part.index === 1 && rec.of('createPartBatch', 1).length === 1) throw nonRetryable('provider_rate_limited', '429 queue full');
        return providerBatch(part.index, 'in_progress', part.requestCount, await ctx.now());
      },
      async classifyPartFailure(_spec, _batch, error) {
        return { kind: error?.code === 'provider_rate_limited' ? 'queue_limit' : null, reason: error?.message ?? '', maxRequests: null };
      },
      // Part 3 ends at once and is downloading when the workflow starts draining: its download is let finish.
      async downloadPart(spec, part) {
        if (part.index === 3) {
          await started.promise;
          const deadline = Date.now() + 25_000;
          while (Date.now() < deadline) {
            Context.current().heartbeat();
            if (await drained(rec, spec.batchId, firstRun!)) {
              downloadSawDrain = true;
              break;
            }
          }
        }
        return resultsOf(part, part.requestCount, 0);
      },
    }),
  }, async ({ rec, handle }) => {
    firstRun = handle.firstExecutionRunId;
    started.resolve(firstRun);
    await until('the first run continued as new', async () => (await env.client.workflow.getHandle(handle.workflowId, firstRun!).describe()).status.name === 'CONTINUED_AS_NEW', 30_000);
    const end = await ending(handle);

    expect(end.ended).toBe('completed');
    expect(end.batch.status).toBe('completed');
    expect(downloadSawDrain).toBe(true);

    // What the first run handed over: each part in the phase it was stopped in.
    const history = await historyOf(handle, firstRun);
    expect(history.length).toBeGreaterThan(4_000);
    expect(history.length).toBeLessThan(4_600);
    const can = history[history.length - 1].workflowExecutionContinuedAsNewEventAttributes!;
    const input = defaultPayloadConverter.fromPayload<BatchJobInput>(can.input!.payloads![0]);
    // Part 1, refused for a queue limit, was replaced by its copy, part 6, waiting on its backoff.
    expect(Object.fromEntries(input.state!.parts!.map((p) => [p.index, p.phase]))).toEqual({ 0: 'running', 2: 'planned', 3: 'done', 4: 'done', 5: 'done', 6: 'queued' });

    // Nothing was done twice: one provider batch per part (part 1 was refused, its copy went out), one write per part.
    expect(rec.parts('createPartBatch').sort()).toEqual([0, 2, 3, 4, 5, 6]);
    expect(rec.parts('createPartBatch', false).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(rec.parts('uploadPart', false).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(rec.parts('downloadPart').sort()).toEqual([0, 2, 3, 4, 5, 6]);
    expectWrittenOnce(rec, [0, 2, 3, 4, 5, 6]);
    expectMerged(rec, [0, 2, 3, 4, 5, 6]);
    // Part 2 asked for admission in both runs; its request was granted in the second.
    expect(rec.of('requestAdmission', 2).map((c) => c.runId === firstRun)).toEqual([true, false]);
    // The copy went out only after the backoff, in the second run.
    const refused = rec.of('createPartBatch', 1)[0];
    const copy = rec.of('createPartBatch', 6)[0];
    expect(copy.runId).not.toBe(firstRun);
    expect(copy.at - refused.at).toBeGreaterThanOrEqual(30 * 60_000);
  });
}, 90_000);

test('11b. a submitted update still waiting when a continue-as-new is due does not hold the workflow: it continues and completes', async () => {
  let firstRun: string | null = null;
  const started = deferred<string>();
  let createHeld = false;
  const createReturned = deferred();
  await withBatch('continue-as-new-update', {
    parts: [10, 10, 10, 10, 10, 10],
    spec: { submitConcurrency: 6 },
    stubs: (rec, ctx) => ({
      awaitPart: progressUntilDrained(() => firstRun),
      async requestAdmission(_target, request) {
        if (request.part === 2 && inFirstRun(() => firstRun)) return { granted: false, ahead: 0, reason: 'batches: 1 of 1 in use', ticket: ticketOf(request, null) };
        return { granted: true, ahead: 0, reason: null, ticket: ticketOf(request, null) };
      },
      // Part 1's create is under way until the workflow drains (the update waits for it).
      async createPartBatch(spec, part) {
        if (part.index === 1 && rec.of('createPartBatch', 1).length === 1) {
          createHeld = true;
          await started.promise;
          const deadline = Date.now() + 25_000;
          while (Date.now() < deadline) {
            Context.current().heartbeat();
            if (await drained(rec, spec.batchId, firstRun!)) break;
          }
          createReturned.resolve();
        }
        return providerBatch(part.index, 'in_progress', part.requestCount, await ctx.now());
      },
    }),
  }, async ({ rec, handle }) => {
    firstRun = handle.firstExecutionRunId;
    await until('part 1 being created', () => createHeld);
    const update = handle.executeUpdate(submittedUpdate).then((b) => ({ batch: b }), (err: unknown) => ({ err }));
    started.resolve(firstRun);
    await createReturned.promise;
    const continued = await until('the first run continued as new', async () => (await env.client.workflow.getHandle(handle.workflowId, firstRun!).describe()).status.name === 'CONTINUED_AS_NEW', 5_000)
      .then(() => true, () => false);
    if (!continued) {
      const d = await env.client.workflow.getHandle(handle.workflowId, firstRun!).describe();
      const q = await handle.query(statusQuery);
      const created = q.anybatch.provider_batches.map((b) => b.id).join(', ');
      throw new Error(
        `the first run did not continue as new: it is ${d.status.name} with ${d.historyLength} events, idle (${d.raw.pendingActivities?.length ?? 0} activities, ` +
          `${d.raw.pendingWorkflowTask ? 'a' : 'no'} workflow task pending), parts at the provider: ${created}; ` +
          'the submitted update still waits for every part to be submitted while the parts stopped for the continue-as-new',
      );
    }
    const end = await ending(handle);
    expect(end.ended).toBe('completed');
    expect(await update).toHaveProperty('batch');
    expect(rec.parts('createPartBatch').sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expectWrittenOnce(rec, [0, 1, 2, 3, 4, 5]);
  });
}, 90_000);

test('12. the submitted update answers once every part is created', async () => {
  let answered = false;
  const hold = deferred();
  let holding = false;
  await withBatch('submitted-update', {
    parts: [5, 5],
    stubs: (_rec, ctx) => ({
      async createPartBatch(_spec, part) {
        if (part.index === 1) {
          holding = true;
          await hold.promise;
        }
        return providerBatch(part.index, 'in_progress', part.requestCount, await ctx.now());
      },
    }),
  }, async ({ rec, handle }) => {
    await until('part 1 being created', () => holding);
    const update = handle.executeUpdate(submittedUpdate).then((b) => {
      answered = true;
      return b;
    });
    await sleepReal(500);
    expect(answered).toBe(false); // part 1 is not created yet
    hold.resolve();
    const batch = await update;
    expect(batch.anybatch.provider_batches.map((b) => b.id).sort()).toEqual(['pb-0', 'pb-1']);
    expect(rec.ok('createPartBatch')).toHaveLength(2);
    const end = await ending(handle);
    expect(end.ended).toBe('completed');
    expectWrittenOnce(rec, [0, 1]);
    expectMerged(rec, [0, 1]);
  });
});

test('13. a provider batch that failed for its size is re-split, and the failed part gives its admission share back', async () => {
  await withBatch('resplit-failed-batch', {
    parts: [10],
    admissionSink: true,
    stubs: () => ({
      async awaitPart(_spec, request) {
        const total = request.batch.request_counts?.total ?? 0;
        if (request.part === 0) {
          return { kind: 'terminal', batch: { ...request.batch, status: 'failed', errors: { object: 'list', data: [{ code: 'too_many_tasks', message: 'more than the maximum of 5 per batch', param: null, line: null }] } } };
        }
        return { kind: 'terminal', batch: { ...request.batch, status: 'completed', request_counts: { total, completed: total, failed: 0 } } };
      },
      async classifyPartFailure(_spec, batch) {
        return batch?.status === 'failed' ? { kind: 'too_large', reason: 'too_many_tasks', maxRequests: 5 } : { kind: null, reason: 'x', maxRequests: null };
      },
      async repartitionPart(_spec, part, firstIndex) {
        return plansOf([5, 5], firstIndex, part.firstRequest);
      },
    }),
  }, async ({ rec, handle }) => {
    const end = await ending(handle);

    expect(end.ended).toBe('completed');
    expect(rec.parts('createPartBatch')).toEqual([0, 1, 2]);
    expect(rec.parts('downloadPart').sort()).toEqual([1, 2]);
    expectWrittenOnce(rec, [1, 2]);
    expectMerged(rec, [1, 2]);
    const id = handle.workflowId;
    expect(releasesIn(await historyOf(handle)).sort()).toEqual([`${id}/0`, `${id}/1`, `${id}/2`]);
  });
});
