/** The status rules and summed counts of src/workflows/state.ts (how workflow state reads as one Batch). */
import type { Batch } from '../../src/contract/batch';
import { batchStatus, buildBatch } from '../../src/workflows/legacy/state';
import type { BatchSpec } from '../../src/contract/spec';
import type { BatchState, PartState } from '../../src/workflows/legacy/shared';

const spec: BatchSpec = {
  batchId: 'ab_1',
  provider: 'openai',
  endpoint: '/v1/chat/completions',
  completionWindow: '24h',
  metadata: { k: 'v' },
  createdAt: 1_000,
  input: { path: '/in.jsonl', requestCount: 10, bytes: 100, model: 'gpt-4o-mini' },
  resultsDir: '/out',
  pollIntervalMs: 30_000,
  connection: { apiBase: null, sealed: null },
  maxRequestsPerPart: null,
  providerOptions: {},
  searchAttributes: true,
};

function providerBatch(status: Batch['status'], extra: Partial<Batch> = {}): Batch {
  return { id: `batch_${status}`, object: 'batch', endpoint: spec.endpoint, input_file_id: 'file-1', completion_window: '24h', status, created_at: 1_001, ...extra };
}

function part(batch: Batch | null, extra: Partial<PartState> = {}): PartState {
  return { index: 0, path: '/in.jsonl', requestCount: 10, bytes: 100, prepared: { kind: 'file', fileId: 'file-1' }, batch, cancelSent: false, error: null, results: null, ...extra };
}

function state(parts: PartState[], extra: Partial<BatchState> = {}): BatchState {
  return { parts, cancelRequested: false, results: null, failure: null, finishedAt: null, pollFailures: 0, ...extra };
}

const written = { output_path: '/out/output.jsonl', errors_path: '/out/errors.jsonl', output_count: 7, errors_count: 3 };

test.each<[string, BatchState, Batch['status']]>([
  ['nothing submitted yet', state([]), 'validating'],
  ['provider validating', state([part(providerBatch('validating'))]), 'validating'],
  ['provider running', state([part(providerBatch('in_progress'))]), 'in_progress'],
  ['provider finalizing', state([part(providerBatch('finalizing'))]), 'in_progress'],
  ['cancel requested while running', state([part(providerBatch('in_progress'))], { cancelRequested: true }), 'cancelling'],
  ['provider ended, results not written', state([part(providerBatch('completed'))]), 'finalizing'],
  ['orchestration failure, results not written', state([], { failure: { code: 'provider_auth', message: 'no' } }), 'finalizing'],
  ['completed and written', state([part(providerBatch('completed'))], { results: written }), 'completed'],
  ['expired and written', state([part(providerBatch('expired'))], { results: written }), 'expired'],
  ['cancelled and written', state([part(providerBatch('cancelled'))], { results: written, cancelRequested: true }), 'cancelled'],
  ['failed validation and written', state([part(providerBatch('failed'))], { results: written }), 'failed'],
  ['never reached the provider', state([part(null, { error: { code: 'provider_auth', message: '401' } })], { results: written }), 'failed'],
  ['one part failed validation, one completed', state([part(providerBatch('failed')), part(providerBatch('completed'), { index: 1 })], { results: written }), 'completed'],
  ['one part expired, one completed', state([part(providerBatch('expired')), part(providerBatch('completed'), { index: 1 })], { results: written }), 'expired'],
  ['one part running, one validating', state([part(providerBatch('in_progress')), part(providerBatch('validating'), { index: 1 })]), 'in_progress'],
])('status: %s', (_name, s, expected) => {
  expect(batchStatus(s)).toBe(expected);
});

test('counts are summed across parts while running, and are the written line counts once finished', () => {
  const running = state([
    part(providerBatch('in_progress', { request_counts: { total: 10, completed: 4, failed: 1 } })),
    part(providerBatch('in_progress', { request_counts: { total: 10, completed: 2, failed: 0 } }), { index: 1 }),
  ]);
  expect(buildBatch(spec, running).request_counts).toEqual({ total: 10, completed: 6, failed: 1 });
  const done = state([part(providerBatch('completed'))], { results: written, finishedAt: 2_000 });
  const batch = buildBatch(spec, done);
  expect(batch.request_counts).toEqual({ total: 10, completed: 7, failed: 3 });
  expect(batch.completed_at).toBe(2_000);
  expect(batch.anybatch.results).toEqual(written);
});

test('the Batch carries the orchestrator id, the caller metadata and the provider batch ids', () => {
  const batch = buildBatch(spec, state([part(providerBatch('in_progress', { in_progress_at: 1_005, expires_at: 87_401 }))]));
  expect(batch).toMatchObject({ id: 'ab_1', object: 'batch', status: 'in_progress', metadata: { k: 'v' }, model: 'gpt-4o-mini', in_progress_at: 1_005, expires_at: 87_401 });
  expect(batch.anybatch.provider_batches).toEqual([{ id: 'batch_in_progress', input_file_id: 'file-1', status: 'in_progress' }]);
});

test("provider validation errors and the orchestrator's failure show in errors", () => {
  const failed = part(providerBatch('failed', { errors: { object: 'list', data: [{ code: 'duplicate_custom_id', line: 3, message: 'dup' }] } }));
  const batch = buildBatch(spec, state([failed], { results: written, finishedAt: 2_000 }));
  expect(batch.status).toBe('failed');
  expect(batch.failed_at).toBe(2_000);
  expect(batch.errors?.data).toEqual([{ code: 'duplicate_custom_id', line: 3, message: 'dup' }]);
  const refused = buildBatch(spec, state([], { failure: { code: 'provider_auth', message: 'create batch: 401 bad key' } }));
  expect(refused.errors?.data).toEqual([{ code: 'provider_auth', message: 'create batch: 401 bad key' }]);
});

test('usage is summed across parts', () => {
  const usage = { input_tokens: 5, input_tokens_details: { cached_tokens: 1 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 };
  const batch = buildBatch(spec, state([part(providerBatch('completed', { usage })), part(providerBatch('completed', { usage }), { index: 1 })]));
  expect(batch.usage).toEqual({ input_tokens: 10, input_tokens_details: { cached_tokens: 2 }, output_tokens: 14, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 24 });
});
