/**
 * The job workflow's pure parts, tabled without Temporal: a part's transitions and decisions (src/workflows/job/
 * part.ts), the batch view's status rules and safe counts (view.ts), bounded search attributes (publish.ts), and
 * what `awaitPart` answers for each read (src/activities/wait.ts).
 */
import type { Batch } from '../../src/contract/batch';
import type { JobState, Part } from '../../src/contract/part';
import type { BatchSpec } from '../../src/contract/spec';
import { waitDecision } from '../../src/activities/wait';
import { ApplicationFailure } from '@temporalio/common';
import {
  DEFAULT_DEADLINE_GRACE_MS,
  created,
  decideRefusal,
  deadlineOf,
  givenUp,
  observed,
  pastDeadline,
  plannedPart,
  replacements,
  requeued,
  settled,
  unreadable,
  windowMs,
  written,
  cancelSent,
} from '../../src/workflows/job/part';
import { initialJobState, jobStatus, jobView, safeCount, withLiveParts } from '../../src/workflows/job/view';
import { MAX_IDS_BYTES, boundedIds, searchAttributesOf } from '../../src/workflows/job/publish';

const spec: BatchSpec = {
  batchId: 'ab_test',
  provider: 'openai',
  endpoint: '/v1/chat/completions',
  completionWindow: '24h',
  metadata: null,
  createdAt: 1_700_000_000,
  input: { path: '/in.jsonl', requestCount: 100, bytes: 1000, model: 'gpt-4o-mini' },
  resultsDir: '/results',
  pollIntervalMs: 30_000,
  connection: { apiBase: null, sealed: null },
  maxRequestsPerPart: null,
  providerOptions: {},
  searchAttributes: true,
};

function batch(status: Batch['status'], extra: Partial<Batch> = {}): Batch {
  return {
    id: 'batch_1',
    object: 'batch',
    endpoint: spec.endpoint,
    input_file_id: 'file_1',
    completion_window: '24h',
    status,
    created_at: 1_700_000_000,
    request_counts: { total: 50, completed: 10, failed: 1 },
    ...extra,
  } as Batch;
}

const plan = { index: 0, path: '/p0', requestCount: 50, bytes: 500, firstRequest: 0 };
const results = { outputPath: 'o', errorsPath: 'e', outputCount: 49, errorsCount: 1 };

function running(b = batch('in_progress')): Extract<Part, { phase: 'running' }> {
  return created(spec, plannedPart(plan), b, 0) as Extract<Part, { phase: 'running' }>;
}

function state(parts: Part[], extra: Partial<JobState> = {}): JobState {
  return { ...initialJobState(), parts, ...extra };
}

describe('transitions', () => {
  test('created: running with a deadline of its window plus the grace; terminal at once goes to downloading', () => {
    const part = running();
    expect(part.phase).toBe('running');
    expect(part.deadlineMs).toBe(1_700_000_000_000 + 86_400_000 + DEFAULT_DEADLINE_GRACE_MS);
    expect(created(spec, plannedPart(plan), batch('completed'), 0).phase).toBe('downloading');
  });

  test('deadline: expires_at wins over created_at; a missing created_at counts from now', () => {
    expect(deadlineOf(spec, batch('in_progress', { expires_at: 1_700_000_100 }), 5)).toBe(1_700_000_100_000 + DEFAULT_DEADLINE_GRACE_MS);
    expect(deadlineOf({ ...spec, deadlineGraceMs: 0 }, batch('in_progress', { created_at: 'x' as unknown as number }), 5)).toBe(5 + 86_400_000);
    expect(windowMs('48h')).toBe(172_800_000);
    expect(windowMs('7d')).toBe(604_800_000);
    expect(windowMs('nonsense')).toBe(86_400_000);
  });

  test('observed: a terminal snapshot ends the part; a running one updates it', () => {
    const part = running();
    const next = observed(part, batch('in_progress', { request_counts: { total: 50, completed: 20, failed: 0 } }));
    expect(next.phase).toBe('running');
    expect(observed(part, batch('expired')).phase).toBe('downloading');
  });

  test('the plan, round, upload and share survive every transition', () => {
    let part: Part = { ...plannedPart({ ...plan, estimatedTokens: { input: 5, maxOutput: 6, withoutMaxOutput: 0 } }, 2), prepared: { kind: 'file', fileId: 'f' } };
    part = created(spec, part, batch('in_progress'), 0);
    part = observed(part as Extract<Part, { phase: 'running' }>, batch('completed'));
    part = written(part as Extract<Part, { phase: 'downloading' }>, results);
    expect(part).toMatchObject({ index: 0, path: '/p0', requestCount: 50, bytes: 500, firstRequest: 0, round: 2, prepared: { kind: 'file', fileId: 'f' }, phase: 'done' });
    expect(part.estimatedTokens).toEqual({ input: 5, maxOutput: 6, withoutMaxOutput: 0 });
  });

  test('past the deadline: cancel first, then give up as batch_expired', () => {
    const part = running();
    expect(pastDeadline(part, spec)).toEqual({ action: 'cancel' });
    const cancelled = cancelSent(part, 1000, spec) as Extract<Part, { phase: 'running' }>;
    expect(cancelled.cancelSentMs).toBe(1000);
    const decision = pastDeadline(cancelled, spec);
    expect(decision.action).toBe('give_up');
    if (decision.action === 'give_up') expect(decision.outcome.code).toBe('batch_expired');
  });

  test('unreadable: given up, keeping its provider batch, named in the outcome with the command that recovers it', () => {
    const part = unreadable(running(), 'provider_not_found', '404 no such batch', spec);
    expect(part).toMatchObject({ phase: 'downloading', gaveUp: true, batch: { id: 'batch_1' }, outcome: { code: 'status_unreadable' } });
    expect((part as { outcome: { message: string } }).outcome.message).toContain('batch_1');
    expect((part as { outcome: { message: string } }).outcome.message).toContain('`anybatch recover ab_test`');
  });
});

describe('refusals', () => {
  const outcome = { code: 'provider_rate_limited', message: 'queue full' };
  const backoff = { initialMs: 1000, maxMs: 4000, giveUpAfterMs: 60_000 };

  test.each([
    ['queue limit, first refusal: requeued after the first wait', { kind: 'queue_limit', reason: 'q', maxRequests: null }, plannedPart(plan), 0, 'requeue'],
    ['too large: re-split at the stated limit', { kind: 'too_large', reason: 't', maxRequests: 20 }, plannedPart(plan), 0, 'resplit'],
    ['too large with no limit stated: halves', { kind: 'too_large', reason: 't', maxRequests: null }, plannedPart(plan), 0, 'resplit'],
    ['anything else: the failure stands', { kind: null, reason: 'bad', maxRequests: null }, plannedPart(plan), 0, 'settle'],
    ['too large with one request: the failure stands', { kind: 'too_large', reason: 't', maxRequests: null }, plannedPart({ ...plan, requestCount: 1 }), 0, 'settle'],
  ] as const)('%s', (_name, failure, part, now, kind) => {
    const decision = decideRefusal(part, failure, outcome, now, backoff);
    expect(decision.kind).toBe(kind);
    if (decision.kind === 'resplit') expect(decision.maxRequests).toBe(failure.maxRequests ?? Math.ceil(part.requestCount / 2));
    if (decision.kind === 'settle' && failure.kind === null) expect(decision.outcome).toEqual(outcome);
  });

  test('queue-limit backoff doubles up to its maximum across the copies, then gives up past the bound', () => {
    let part: Part = plannedPart(plan);
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 4; i++) {
      const d = decideRefusal(part, { kind: 'queue_limit', reason: 'q', maxRequests: null }, outcome, now, backoff);
      if (d.kind !== 'requeue') throw new Error('not requeued');
      waits.push(d.queued.untilMs - now);
      // The copy that goes again (a new part, a new index) carries the refusals, through every phase it passes.
      const [copy] = requeued([plannedPart({ ...plan, index: i + 1 })], d.queued);
      expect(copy).toMatchObject({ phase: 'queued', index: i + 1, queueLimit: { attempts: i + 1, sinceMs: 0 } });
      part = created(spec, copy, batch('failed'), now);
      expect(part.queueLimit).toEqual({ attempts: i + 1, sinceMs: 0 });
      now = d.queued.untilMs;
    }
    expect(waits).toEqual([1000, 2000, 4000, 4000]);
    const late = decideRefusal(part, { kind: 'queue_limit', reason: 'q', maxRequests: null }, outcome, 61_000, backoff);
    expect(late.kind).toBe('settle');
    if (late.kind === 'settle') expect(late.outcome.code).toBe('queue_limit');
  });

  test('a re-split inherits the round and the position of the first request', () => {
    const parts = replacements({ ...plannedPart({ ...plan, firstRequest: 100 }, 1) }, [
      { index: 5, path: '/a', requestCount: 20, bytes: 1 },
      { index: 6, path: '/b', requestCount: 30, bytes: 1 },
    ]);
    expect(parts.map((p) => [p.index, p.round, p.firstRequest, p.phase])).toEqual([
      [5, 1, 100, 'planned'],
      [6, 1, 120, 'planned'],
    ]);
  });
});

describe('status rules', () => {
  const done = (b: Batch | null, outcome: { code: string; message: string } | null = null, gaveUp = false): Part => {
    const d = b ? created(spec, plannedPart(plan), b, 0) : settled(plannedPart(plan), outcome!);
    const ended = d.phase === 'running' ? observed(d, b!) : d;
    const base = ended as Extract<Part, { phase: 'downloading' }>;
    return written({ ...base, outcome: outcome ?? base.outcome, gaveUp }, results);
  };
  const finished = { output_path: 'o', errors_path: 'e', output_count: 1, errors_count: 1 };

  test.each([
    ['validating before any part runs', state([plannedPart(plan)]), 'validating'],
    ['in_progress while a part runs', state([running()]), 'in_progress'],
    ['cancelling once asked', state([running()], { cancelRequested: true }), 'cancelling'],
    ['finalizing once every part ended', state([done(batch('completed'))]), 'finalizing'],
    ['completed', state([done(batch('completed'))], { results: finished }), 'completed'],
    ['cancelled', state([done(batch('cancelled'))], { results: finished, cancelRequested: true }), 'cancelled'],
    ['failed when no part ran', state([done(null, { code: 'provider_auth', message: 'no' })], { results: finished }), 'failed'],
    ['expired when a part expired', state([done(batch('completed')), done(batch('expired'))], { results: finished }), 'expired'],
    ['failed, never completed, when a part was given up unreadable', state([done(batch('completed')), done(batch('in_progress'), { code: 'status_unreadable', message: 'x' }, true)], { results: finished }), 'failed'],
    ['expired when a part was given up past its deadline', state([done(batch('completed')), done(batch('in_progress'), { code: 'batch_expired', message: 'x' }, true)], { results: finished }), 'expired'],
  ])('%s', (_name, s, status) => {
    expect(jobStatus(spec, s)).toBe(status);
  });

  test('a provider that sends nonsense numbers cannot break the view', () => {
    const odd = batch('in_progress', { request_counts: { total: '5', completed: 1.5, failed: 1e20 } as unknown as Batch['request_counts'], in_progress_at: NaN as unknown as number });
    const view = jobView(spec, state([running(odd)]));
    expect(view.request_counts).toEqual({ total: 100, completed: 1, failed: 100 });
    expect(view.in_progress_at).toBeUndefined();
    for (const v of [view.request_counts!.completed, view.request_counts!.failed]) expect(Number.isSafeInteger(v)).toBe(true);
    expect(() => JSON.stringify(view)).not.toThrow();
  });

  test.each([
    ['5', 5],
    [1.5, 1],
    [1e20, Number.MAX_SAFE_INTEGER],
    [-3, 0],
    [NaN, 0],
    [Infinity, 0],
    [null, 0],
    ['x', 0],
  ])('safeCount(%p) = %p', (value, expected) => {
    expect(safeCount(value)).toBe(expected);
  });
});

describe('search attributes', () => {
  test('the provider batch id list stays under Temporal 2 KB limit, and the part count is whole', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `batch_${String(i).padStart(40, '0')}`);
    const kept = boundedIds(ids);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(ids.length);
    expect(Buffer.byteLength(JSON.stringify(kept))).toBeLessThanOrEqual(MAX_IDS_BYTES);
    expect(kept).toEqual(ids.slice(0, kept.length));
    const parts = ids.map((id, i) => created(spec, plannedPart({ ...plan, index: i }), batch('in_progress', { id }), 0));
    const attrs = searchAttributesOf(spec, jobView(spec, state(parts)), parts.length);
    const byName = Object.fromEntries(attrs.map((a) => [a.key.name, a.value]));
    expect(byName.AnybatchParts).toBe(500);
    expect(Buffer.byteLength(JSON.stringify(byName.AnybatchProviderBatchIds))).toBeLessThanOrEqual(2048);
    for (const name of ['AnybatchTotal', 'AnybatchCompleted', 'AnybatchFailed']) expect(Number.isSafeInteger(byName[name])).toBe(true);
  });

  test('a batch of 500 parts keeps its errors bounded', () => {
    const parts = Array.from({ length: 500 }, (_, i) => written(settled(plannedPart({ ...plan, index: i }), { code: 'provider_invalid_request', message: `bad ${i}` }) as Extract<Part, { phase: 'downloading' }>, results));
    const view = jobView(spec, state(parts));
    expect(view.errors!.data!.length).toBeLessThanOrEqual(50);
    expect(view.errors!.data!.at(-1)!.code).toBe('more_errors');
  });
});

describe('awaitPart answers', () => {
  const request = { part: 0, batch: batch('in_progress'), deadlineMs: 10_000, failingSinceMs: null, progressIntervalMs: 1000 };
  const transient = ApplicationFailure.create({ type: 'provider_transient', message: '503' });
  const permanent = ApplicationFailure.create({ type: 'provider_not_found', message: '404', nonRetryable: true });

  test.each([
    ['terminal', { batch: batch('completed') }, 0, 'terminal'],
    ['status changed', { batch: batch('finalizing') }, 0, 'progress'],
    ['nothing changed: not yet', { batch: batch('in_progress') }, 500, null],
    ['counts moved before the checkpoint interval: not yet', { batch: batch('in_progress', { request_counts: { total: 50, completed: 30, failed: 1 } }) }, 500, null],
    ['counts moved past the checkpoint interval', { batch: batch('in_progress', { request_counts: { total: 50, completed: 30, failed: 1 } }) }, 1500, 'progress'],
    ['past the deadline', { batch: batch('in_progress') }, 20_000, 'deadline'],
    ['a 404: unreadable at once', { error: permanent }, 0, 'unreadable'],
    ['a first transient failure: shown', { error: transient }, 0, 'failing'],
  ] as const)('%s', (_name, read, now, kind) => {
    const answer = waitDecision(request, read as never, now, 0, 3600_000);
    expect(answer?.kind ?? null).toBe(kind);
  });

  test('a transient failure already shown is retried quietly, until the bound gives the part up', () => {
    const failing = { ...request, failingSinceMs: 0 };
    expect(waitDecision(failing, { error: transient }, 1000, 0, 3600_000)).toBeNull();
    expect(waitDecision(failing, { error: transient }, 3600_000, 0, 3600_000)?.kind).toBe('unreadable');
    // The read works again: the workflow is told, so it clears what it shows.
    expect(waitDecision(failing, { batch: batch('in_progress') }, 1000, 0, 3600_000)?.kind).toBe('progress');
  });

  test('given up keeps the provider batch id', () => {
    const part = givenUp(running(), { code: 'results_unavailable', message: 'm' });
    expect(part).toMatchObject({ phase: 'downloading', gaveUp: true, batch: { id: 'batch_1' } });
  });
});

describe('live progress between checkpoints', () => {
  test('a wait seen since the checkpoint moves the part and the batch counts, never past the total', () => {
    const recorded = jobView(spec, state([running(batch('validating', { request_counts: { total: 50, completed: 0, failed: 0 } }))]));
    expect(recorded.status).toBe('validating');
    const live = withLiveParts(recorded, [{ id: 'batch_1', status: 'in_progress', request_counts: { total: 50, completed: 30, failed: 2 } }]);
    expect(live.status).toBe('in_progress');
    expect(live.request_counts).toEqual({ total: 100, completed: 30, failed: 2 });
    expect(live.anybatch.provider_batches[0]).toMatchObject({ status: 'in_progress', request_counts: { completed: 30, failed: 2 } });
    const absurd = withLiveParts(recorded, [{ id: 'batch_1', status: 'in_progress', request_counts: { total: 50, completed: 1e20, failed: 0 } }]);
    expect(absurd.request_counts!.completed).toBe(100);
    // Unknown ids and finished batches are left as recorded.
    expect(withLiveParts(recorded, [{ id: 'other', status: 'in_progress' }])).toEqual({ ...recorded, status: 'validating' });
  });
});
