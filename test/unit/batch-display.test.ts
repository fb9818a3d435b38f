/**
 * How a batch shows its waiting parts and retry rounds: `anybatch.queued` as built from the workflow state (parts
 * waiting for admission and parts waiting after a queue-limit refusal, one field), `anybatch get`'s summary
 * (src/cli/format.ts) and the Web UI's current details (src/workflows/details.ts); and the `admission` option's checks.
 */
import type { AnybatchBatch, Batch } from '../../src/contract/batch';
import { queuedLine, retriesLine, summary } from '../../src/cli/format';
import { parseCreateOptions } from '../../src/options';
import { currentDetails } from '../../src/workflows/details';
import type { BatchSpec } from '../../src/contract/spec';
import type { BatchState, PartState } from '../../src/workflows/legacy/shared';
import { buildBatch } from '../../src/workflows/legacy/state';

const spec: BatchSpec = {
  batchId: 'ab_1',
  provider: 'openai',
  endpoint: '/v1/chat/completions',
  completionWindow: '24h',
  metadata: null,
  createdAt: 1_000,
  input: { path: '/in.jsonl', requestCount: 30, bytes: 300, model: 'gpt-4o-mini' },
  resultsDir: '/out',
  pollIntervalMs: 30_000,
  connection: { apiBase: null, sealed: null },
  maxRequestsPerPart: 10,
  providerOptions: {},
  searchAttributes: true,
};

const running: Batch = { id: 'batch_0', object: 'batch', endpoint: spec.endpoint, input_file_id: 'file-0', completion_window: '24h', status: 'in_progress', created_at: 1_001 };

function part(index: number, extra: Partial<PartState> = {}): PartState {
  return { index, path: `/part-${index}.jsonl`, requestCount: 10, bytes: 100, prepared: null, batch: null, cancelSent: false, error: null, results: null, ...extra };
}

function state(parts: PartState[]): BatchState {
  return { parts, cancelRequested: false, results: null, failure: null, finishedAt: null, pollFailures: 0 };
}

const ADMISSION_REASON = 'enqueued tokens: 90 of 120 in use, this part needs 95';
const REFUSAL = 'token_limit_exceeded: Enqueued token limit reached for gpt-4o-mini';

test('parts waiting for admission: queued with cause admission, no time, and the budget reason; the batch stays validating', () => {
  const batch = buildBatch(spec, state([part(0, { admitting: ADMISSION_REASON }), part(1, { admitting: 'behind part 0' })]));
  expect(batch.status).toBe('validating');
  expect(batch.anybatch.queued).toEqual({ parts: 2, reason: ADMISSION_REASON, next_at: null, cause: 'admission' });
});

test('parts refused for a queue limit keep their backoff time; mixed with admission, one field counts both', () => {
  const refused = part(2, { queued: { reason: REFUSAL, attempts: 1, sinceMs: 0, untilMs: 5_000_500 } });
  expect(buildBatch(spec, state([part(0, { batch: running }), refused])).anybatch.queued).toEqual({ parts: 1, reason: REFUSAL, next_at: 5_001, cause: 'queue_limit' });
  const both = buildBatch(spec, state([part(0, { batch: running }), part(1, { admitting: ADMISSION_REASON }), refused]));
  expect(both.status).toBe('in_progress');
  expect(both.anybatch.queued).toEqual({ parts: 2, reason: ADMISSION_REASON, next_at: 5_001, cause: 'admission' });
  // A refused part whose backoff ended and that now waits for admission counts as waiting for admission.
  const again = part(2, { admitting: ADMISSION_REASON, queued: { reason: REFUSAL, attempts: 1, sinceMs: 0, untilMs: 1_000 } });
  expect(buildBatch(spec, state([again])).anybatch.queued).toEqual({ parts: 1, reason: ADMISSION_REASON, next_at: null, cause: 'admission' });
});

test('nothing waits: no queued key (admitted, created, or failed parts)', () => {
  const ticket = { workflowId: 'anybatch-admission:openai:0123456789abcdef:gpt-4o-mini', id: 'ab_1/0' };
  const batch = buildBatch(spec, state([part(0, { admission: ticket }), part(1, { batch: running }), part(2, { error: { code: 'batch_cancelled', message: 'x' } })]));
  expect(batch.anybatch).not.toHaveProperty('queued');
});

function withInfo(extra: Partial<AnybatchBatch['anybatch']>): AnybatchBatch {
  const batch = buildBatch(spec, state([part(0, { batch: running })]));
  return { ...batch, anybatch: { ...batch.anybatch, ...extra } };
}

test('anybatch get prints queued parts, retry rounds and cost', () => {
  const batch = withInfo({
    queued: { parts: 2, reason: ADMISSION_REASON, next_at: null, cause: 'admission' },
    retries: { rounds: 2, rounds_run: 1, retried: 7, recovered_by_round: [5] },
    cost: { currency: 'USD', input: 0.001, output: 0.002, cached: 0, total: 0.003, prices: [] },
  });
  const text = summary(batch);
  expect(text).toContain(`  queued:   2 parts waiting for admission: ${ADMISSION_REASON}`);
  expect(text).toContain('  retries:  1 of 2 rounds run, 7 requests retried, recovered by round: 1: 5');
  expect(text).toContain('  cost:   $0.003000 (input $0.001000, cached $0.000000, output $0.002000) at batch prices');
  expect(summary(withInfo({ cost: { currency: 'USD', total: null, unknown_models: ['m'], reason: 'no price for m' } }))).toContain('  cost:   unknown (no price for m)');
  expect(summary(withInfo({}))).not.toMatch(/queued|retries|cost/);
});

test('a part refused for a queue limit shows when it goes again', () => {
  const batch = withInfo({ queued: { parts: 1, reason: REFUSAL, next_at: 1_030, cause: 'queue_limit' } });
  expect(queuedLine(batch, 1_000_000)).toBe(`  queued:   1 part refused for a queue limit, waiting to go again; next in 30 s: ${REFUSAL}`);
  expect(retriesLine(withInfo({ retries: { rounds: 1, rounds_run: 0, retried: 0, recovered_by_round: [] } }))).toBe('  retries:  0 of 1 round run, 0 requests retried');
});

test('the Web UI details show queued parts and retry rounds', () => {
  const details = currentDetails(
    withInfo({
      queued: { parts: 1, reason: ADMISSION_REASON, next_at: null, cause: 'admission' },
      retries: { rounds: 3, rounds_run: 2, retried: 9, recovered_by_round: [6, 2] },
    }),
  );
  expect(details).toContain(`queued: 1 part waiting for admission: ${ADMISSION_REASON}`);
  expect(details).toContain('retry rounds: 2 of 3 run, 9 requests retried (round 1: 6 recovered, round 2: 2 recovered)');
  expect(currentDetails(withInfo({}))).not.toMatch(/queued|retry rounds/);
});

test('the admission option: positive integers or null, each field named when wrong', () => {
  expect(parseCreateOptions('openai', { admission: { enqueuedTokens: 2_000_000, batches: null } }).admission).toEqual({ enqueuedTokens: 2_000_000, batches: null });
  expect(parseCreateOptions('openai', {}).admission).toBeUndefined();
  expect(() => parseCreateOptions('openai', { admission: { requests: 1.5 } })).toThrow('admission.requests must be a positive integer or null (no limit), got 1.5.');
  expect(() => parseCreateOptions('openai', { admission: { batches: '3' } })).toThrow('admission.batches must be a positive integer or null (no limit), got "3".');
  expect(() => parseCreateOptions('openai', { admission: { enqueuedToken: 5 } })).toThrow(/admission\.enqueuedToken.*did you mean "admission\.enqueuedTokens"/);
  expect(() => parseCreateOptions('openai', { admission: [1] })).toThrow(/admission must be an object/);
});
