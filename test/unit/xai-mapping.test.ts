/** xAI's batch objects and results -> OpenAI's (src/providers/xai): the derived status table, counts, result lines. */
import { toOpenAIBatch, xaiMillis, xaiSeconds, xaiStatus } from '../../src/providers/xai/batch-object';
import { httpStatusOf, toOpenAIResultLine } from '../../src/providers/xai/result-line';
import type { XaiBatch } from '../../src/providers/xai/wire';

const NOW = Date.parse('2026-12-01T12:00:00Z') / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString();

function batch(state: Partial<XaiBatch['state']>, times: Partial<Pick<XaiBatch, 'cancel_time' | 'expire_time'>> = {}): XaiBatch {
  return {
    batch_id: 'batch_1',
    name: 'anybatch:ab_1/0',
    create_time: iso(NOW - 60),
    expire_time: iso(NOW + 3600),
    cancel_time: null,
    cancel_by_xai_message: null,
    state: { num_requests: 0, num_pending: 0, num_success: 0, num_error: 0, num_cancelled: 0, ...state },
    ...times,
  };
}

test.each<[string, XaiBatch, string]>([
  ['no request known yet', batch({}), 'validating'],
  ['requests pending', batch({ num_requests: 10, num_pending: 4, num_success: 6 }), 'in_progress'],
  ['nothing pending', batch({ num_requests: 10, num_success: 9, num_error: 1 }), 'completed'],
  ['every request errored', batch({ num_requests: 3, num_error: 3 }), 'completed'],
  ['cancel_time set, requests pending', batch({ num_requests: 10, num_pending: 4, num_success: 6 }, { cancel_time: iso(NOW - 1) }), 'cancelling'],
  ['cancel_time set, nothing pending', batch({ num_requests: 10, num_success: 6, num_cancelled: 4 }, { cancel_time: iso(NOW - 1) }), 'cancelled'],
  ['cancelled before any request was known', batch({}, { cancel_time: iso(NOW - 1) }), 'cancelled'],
  ['expire_time passed with requests pending', batch({ num_requests: 10, num_pending: 4, num_success: 6 }, { expire_time: iso(NOW - 1) }), 'expired'],
  ['expire_time passed, nothing pending', batch({ num_requests: 10, num_success: 10 }, { expire_time: iso(NOW - 1) }), 'completed'],
  ['expire_time passed before any request was known', batch({}, { expire_time: iso(NOW - 1) }), 'expired'],
])('%s -> %s', (_, b, status) => {
  expect(xaiStatus(b, NOW * 1000)).toBe(status);
});

test('expiry is read to the millisecond: an expire_time later in the current second has not passed yet', () => {
  // Floored to seconds on both sides, this batch read as expired 0.9 s before xAI expired it (a CI failure: its
  // results were read while the sandbox had run none of them yet).
  const b = batch({ num_requests: 10, num_pending: 10 }, { expire_time: '2026-12-01T12:00:00.950Z' });
  expect(xaiStatus(b, NOW * 1000 + 50)).toBe('in_progress');
  expect(xaiStatus(b, NOW * 1000 + 950)).toBe('expired');
  expect(xaiMillis('2026-12-01T12:00:00.950Z')).toBe(NOW * 1000 + 950);
  expect(xaiMillis(NOW + 0.5)).toBe(NOW * 1000 + 500);
});

test('counts: total num_requests, completed num_success, failed num_error + num_cancelled (+ pending once expired)', () => {
  expect(toOpenAIBatch(batch({ num_requests: 10, num_success: 5, num_error: 2, num_cancelled: 3 }, { cancel_time: iso(NOW) }), { endpoint: '/v1/chat/completions', nowMs: NOW * 1000 })).toMatchObject({
    id: 'batch_1',
    object: 'batch',
    status: 'cancelled',
    request_counts: { total: 10, completed: 5, failed: 5 },
    cancelled_at: NOW,
    created_at: NOW - 60,
  });
  const expired = toOpenAIBatch(batch({ num_requests: 10, num_pending: 4, num_success: 6 }, { expire_time: iso(NOW - 1) }), { endpoint: '/v1/chat/completions', nowMs: NOW * 1000 });
  expect(expired).toMatchObject({ status: 'expired', expired_at: NOW - 1, request_counts: { total: 10, completed: 6, failed: 4 } });
  expect(toOpenAIBatch(batch({ num_requests: 10, num_pending: 4, num_success: 6 }), { endpoint: '/v1/chat/completions', nowMs: NOW * 1000 }).request_counts).toEqual({ total: 10, completed: 6, failed: 0 });
});

test("a batch xAI cancelled itself carries xAI's message in errors", () => {
  const b = { ...batch({ num_requests: 2, num_success: 1, num_cancelled: 1 }, { cancel_time: iso(NOW) }), cancel_by_xai_message: 'Team out of credits' };
  expect(toOpenAIBatch(b, { endpoint: '/v1/chat/completions', nowMs: NOW * 1000 })).toMatchObject({ status: 'cancelled', errors: { data: [{ code: 'cancelled_by_xai', message: 'Team out of credits' }] } });
});

test('timestamps: RFC 3339 or unix seconds', () => {
  expect(xaiSeconds('2026-12-01T12:00:00.999Z')).toBe(NOW);
  expect(xaiSeconds(NOW)).toBe(NOW);
  expect(xaiSeconds(String(NOW))).toBe(NOW);
  expect(xaiSeconds(null)).toBeNull();
  expect(() => xaiSeconds('yesterday')).toThrow(/unparseable/);
});

test('a success is a 200 line with the chat.completion, under the custom_id', () => {
  const body = { id: 'chatcmpl-1', object: 'chat.completion', choices: [] };
  const line = toOpenAIResultLine({ batch_request_id: 'r1', batch_result: { response: { chat_get_completion: body } }, error_message: null }, 'batch_1');
  expect(line).toMatchObject({ custom_id: 'r1', response: { status_code: 200, request_id: 'chatcmpl-1', body }, error: null });
  expect(line.id).toMatch(/^batch_req_/);
});

test('a failure (error_message, or error.code other than 0) is an error line with the HTTP status of its gRPC code', () => {
  const line = toOpenAIResultLine({ batch_request_id: 'r2', batch_result: { error: { code: 8, message: 'slow down' } }, error_message: 'slow down' }, 'batch_1');
  expect(line).toMatchObject({ custom_id: 'r2', response: { status_code: 429, body: { error: { message: 'slow down', code: '8' } } }, error: null });
  const onlyMessage = toOpenAIResultLine({ batch_request_id: 'r3', error_message: 'bad request' }, 'batch_1');
  expect(onlyMessage.response).toMatchObject({ status_code: 500, body: { error: { message: 'bad request' } } });
  // A code of 0 is no error.
  const ok = toOpenAIResultLine({ batch_request_id: 'r4', batch_result: { response: { chat_get_completion: { id: 'x' } }, error: { code: 0, message: '' } } }, 'batch_1');
  expect(ok.response?.status_code).toBe(200);
  expect([3, 5, 7, 16, 14, 13, 422, 'x'].map(httpStatusOf)).toEqual([400, 404, 403, 401, 503, 500, 422, 500]);
});
