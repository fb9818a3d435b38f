/** The pure Message Batch state machine: status, end time and processed requests as a function of the clock. */
import { deriveMessageBatchState, type MessageBatchFacts } from '../../src/sandbox/providers/anthropic/lifecycle';

const timing = { rate: 10, cancellingMs: 300 };

function facts(overrides: Partial<MessageBatchFacts> = {}): MessageBatchFacts {
  return { createdMs: 0, expiresMs: 86_400_000, total: 10, cancelMs: null, ...overrides };
}

test('a batch is in_progress from creation and ends when its last request is processed', () => {
  expect(deriveMessageBatchState(facts(), 0, timing)).toEqual({ status: 'in_progress', endedMs: null, processed: 0, unprocessed: null });
  expect(deriveMessageBatchState(facts(), 550, timing)).toMatchObject({ status: 'in_progress', processed: 5 });
  expect(deriveMessageBatchState(facts(), 1000, timing)).toEqual({ status: 'ended', endedMs: 1000, processed: 10, unprocessed: null });
});

test('a batch reaching its expiry first ends then, with the rest expired', () => {
  const expiring = facts({ expiresMs: 400 });
  expect(deriveMessageBatchState(expiring, 399, timing).status).toBe('in_progress');
  expect(deriveMessageBatchState(expiring, 5000, timing)).toEqual({ status: 'ended', endedMs: 400, processed: 4, unprocessed: 'expired' });
});

test('a cancel freezes processing and ends cancellingMs later with the rest canceled', () => {
  const canceled = facts({ cancelMs: 250 });
  expect(deriveMessageBatchState(canceled, 549, timing)).toEqual({ status: 'canceling', endedMs: null, processed: 2, unprocessed: null });
  expect(deriveMessageBatchState(canceled, 550, timing)).toEqual({ status: 'ended', endedMs: 550, processed: 2, unprocessed: 'canceled' });
});
