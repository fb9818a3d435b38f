/** The pure state machine: status, timestamps and counts as a function of the clock. */
import type { RequestPlan } from '../../src/sandbox/providers/openai/input-check';
import { deriveState, requestCounts, usage, type LifecycleFacts, type Timing } from '../../src/sandbox/providers/openai/lifecycle';

const timing: Timing = { validationMs: 1000, finalizingMs: 500, cancellingMs: 300, rate: 10 };

/** Ten requests; the third fails; each uses 4 input and 2 output tokens when it succeeds. */
function plan(): RequestPlan {
  const failed = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
  return {
    endpoint: '/v1/chat/completions',
    total: 10,
    model: 'm',
    failed: Uint32Array.from(failed),
    inputTokens: Float64Array.from(failed.map((f, k) => 4 * (k - f))),
    outputTokens: Float64Array.from(failed.map((f, k) => 2 * (k - f))),
    enqueuedTokens: new Map([['m', 40]]),
  };
}

function facts(overrides: Partial<LifecycleFacts> = {}): LifecycleFacts {
  return { createdMs: 0, expiresMs: 86_400_000, check: { ok: true, plan: plan() }, cancelMs: null, ...overrides };
}

test('a batch walks validating, in_progress, finalizing, completed', () => {
  expect(deriveState(facts(), 999, timing).status).toBe('validating');
  const running = deriveState(facts(), 1500, timing);
  expect([running.status, running.processed, running.inProgressMs]).toEqual(['in_progress', 5, 1000]);
  expect(requestCounts(running)).toEqual({ total: 10, completed: 4, failed: 1 });
  expect(usage(running)).toMatchObject({ input_tokens: 16, output_tokens: 8, total_tokens: 24 });
  expect(deriveState(facts(), 2000, timing)).toMatchObject({ status: 'finalizing', finalizingMs: 2000 });
  expect(deriveState(facts(), 2500, timing)).toMatchObject({ status: 'completed', completedMs: 2500, processed: 10, unrun: null });
});

test('usage is null until a request has run', () => {
  expect(usage(deriveState(facts(), 1000, timing))).toBeNull();
});

test('validation still running keeps the batch validating', () => {
  expect(deriveState(facts({ check: null }), 5000, timing).status).toBe('validating');
});

test('an invalid input fails when validation ends', () => {
  const errors = [{ code: 'empty_file', message: 'empty', param: null, line: null }];
  expect(deriveState(facts({ check: { ok: false, errors } }), 1000, timing)).toMatchObject({ status: 'failed', failedMs: 1000, errors });
});

test('a cancel freezes the run and reports the rest as cancelled once cancelling ends', () => {
  const cancelled = facts({ cancelMs: 1300 });
  const cancelling = deriveState(cancelled, 1500, timing);
  expect([cancelling.status, cancelling.processed]).toEqual(['cancelling', 3]);
  const done = deriveState(cancelled, 1600, timing);
  expect(done).toMatchObject({ status: 'cancelled', cancellingMs: 1300, cancelledMs: 1600, unrun: 'batch_cancelled', processed: 3 });
  expect(requestCounts(done)).toEqual({ total: 10, completed: 2, failed: 8 });
});

test('a batch cancelled while validating reports every request cancelled', () => {
  const done = deriveState(facts({ cancelMs: 200 }), 600, timing);
  expect(done).toMatchObject({ status: 'cancelled', inProgressMs: null, processed: 0 });
  expect(requestCounts(done)).toEqual({ total: 10, completed: 0, failed: 10 });
});

test('expiry mid-run keeps what ran and expires the rest', () => {
  const expiring = facts({ expiresMs: 1400 });
  expect(deriveState(expiring, 1399, timing).status).toBe('in_progress');
  const expired = deriveState(expiring, 1400, timing);
  expect(expired).toMatchObject({ status: 'expired', expiredMs: 1400, processed: 4, unrun: 'batch_expired' });
  expect(requestCounts(expired)).toEqual({ total: 10, completed: 3, failed: 7 });
});

test('a batch whose requests all ran before expiry completes', () => {
  expect(deriveState(facts({ expiresMs: 2100 }), 3000, timing).status).toBe('completed');
});

describe('a queued dialect (Cerebras): validated batches wait `queued` before they run', () => {
  const queued: Timing = { ...timing, queuedMs: 400 };

  test('validating, queued, in_progress (from the end of the wait), finalizing, completed', () => {
    expect(deriveState(facts(), 999, queued).status).toBe('validating');
    const waiting = deriveState(facts(), 1000, queued);
    expect(waiting).toMatchObject({ status: 'queued', inProgressMs: null, processed: 0 });
    expect(requestCounts(waiting)).toEqual({ total: 10, completed: 0, failed: 0 });
    expect(deriveState(facts(), 1399, queued).status).toBe('queued');
    expect(deriveState(facts(), 1400, queued)).toMatchObject({ status: 'in_progress', inProgressMs: 1400, processed: 0 });
    expect(deriveState(facts(), 1900, queued)).toMatchObject({ status: 'in_progress', processed: 5 });
    expect(deriveState(facts(), 2400, queued)).toMatchObject({ status: 'finalizing', finalizingMs: 2400 });
    expect(deriveState(facts(), 2900, queued)).toMatchObject({ status: 'completed', completedMs: 2900 });
  });

  test('cancelled while queued: nothing ran, every request is batch_cancelled', () => {
    const state = deriveState(facts({ cancelMs: 1200 }), 1500, queued);
    expect(state).toMatchObject({ status: 'cancelled', inProgressMs: null, processed: 0, unrun: 'batch_cancelled' });
    expect(requestCounts(state)).toEqual({ total: 10, completed: 0, failed: 10 });
  });

  test('expired while queued: it never ran', () => {
    const state = deriveState(facts({ expiresMs: 1300 }), 1300, queued);
    expect(state).toMatchObject({ status: 'expired', inProgressMs: null, processed: 0, unrun: 'batch_expired' });
  });
});
