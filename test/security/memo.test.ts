/**
 * Issue 17, the memo: each case was first written as a failing reproduction against the code before the fix.
 * The batch as recorded (the workflow's memo, upserted into history with every change; the status query; what
 * `retrieveBatch` reads) never exceeds `MAX_BATCH_BYTES` (256 KiB as JSON), however many parts the batch has and
 * however long the texts a provider sends: the largest metadata `createBatch` accepts stays whole, provider text is
 * clipped (marked `…`), at most 50 errors and 20 warnings are listed, and `provider_batches` lists the first provider
 * batches that fit (`provider_batches_omitted` counts the others). The raw view still decides when the workflow
 * publishes, so the commands of a running batch are those of its history (replay unchanged).
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { AnybatchBatch, Batch } from '../../src/contract/batch';
import type { JobState, Part } from '../../src/contract/part';
import type { BatchSpec } from '../../src/contract/spec';
import { METADATA_BOUND, parseCreateOptions } from '../../src/options';
import { MAX_BATCH_BYTES, boundedBatch } from '../../src/workflows/bounded-view';
import { currentDetails } from '../../src/workflows/details';
import { buildBatch } from '../../src/workflows/legacy/state';
import { initialJobState, jobView } from '../../src/workflows/job/view';

const HUGE = 20_000;
const hostile = (seed: string, n = HUGE) => `${seed} ${'\u0001"\\'.repeat(n / 3)}`;

/** The largest metadata createBatch accepts: 16 keys of 64 characters, values filling the 16 KiB total. */
function largestMetadata(): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (let i = 0; i < METADATA_BOUND.maxPairs; i++) metadata[`${i}`.padStart(METADATA_BOUND.maxKeyLength, 'k')] = '';
  // Each value as long as the total allows: 3-byte characters up to the bound.
  const overhead = Buffer.byteLength(JSON.stringify(metadata));
  const per = Math.floor((METADATA_BOUND.maxTotalBytes - overhead) / METADATA_BOUND.maxPairs / 3);
  for (const k of Object.keys(metadata)) metadata[k] = '€'.repeat(Math.min(per, METADATA_BOUND.maxValueLength));
  return metadata;
}

function spec(extra: Partial<BatchSpec> = {}): BatchSpec {
  return {
    batchId: 'ab_memo',
    provider: 'openai-compatible',
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: null,
    createdAt: 1_700_000_000,
    input: { path: '/data/inputs/ab_memo.jsonl', requestCount: 1_000_000, bytes: 1e9, model: 'gpt-4o-mini' },
    resultsDir: '/data/results/ab_memo',
    pollIntervalMs: 30_000,
    connection: { apiBase: null, sealed: null },
    maxRequestsPerPart: 1,
    providerOptions: {},
    searchAttributes: true,
    ...extra,
  };
}

function providerBatch(i: number, long: boolean): Batch {
  const b = {
    id: long ? `batch_${i}_${'x'.repeat(HUGE)}` : `batch_${String(i).padStart(32, '0')}`,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: long ? `file_${'y'.repeat(HUGE)}` : `file-${String(i).padStart(24, '0')}`,
    completion_window: '24h',
    status: 'in_progress',
    created_at: 1_700_000_000,
    request_counts: { total: 200, completed: 100, failed: 3 },
    model: long ? 'm'.repeat(HUGE) : 'gpt-4o-mini',
    errors: long ? { object: 'list', data: [{ code: 'c'.repeat(HUGE), message: hostile('provider says'), param: 'p'.repeat(HUGE), line: 1, extra: 'e'.repeat(HUGE) }] } : undefined,
  };
  return b as unknown as Batch;
}

function part(i: number, long: boolean): Part {
  const base = { index: i, path: `/p${i}`, requestCount: 200, bytes: 1000, round: 0, prepared: { kind: 'file' as const, fileId: `file-${i}` }, ticket: null };
  if (i % 3 === 0) return { ...base, phase: 'running', batch: providerBatch(i, long), deadlineMs: 0, cancelSentMs: null } as Part;
  if (i % 3 === 1) {
    return { ...base, phase: 'downloading', batch: providerBatch(i, long), outcome: long ? { code: 'provider_error', message: hostile('outcome') } : null, gaveUp: false, notice: long ? { code: 'n', message: hostile('notice') } : undefined } as Part;
  }
  return { ...base, phase: 'queued', reason: long ? hostile('queue full') : 'enqueued tokens', attempts: 1, sinceMs: 0, untilMs: 1 } as Part;
}

function largeState(parts: number, long: boolean): JobState {
  return {
    ...initialJobState(),
    parts: Array.from({ length: parts }, (_, i) => part(i, long)),
    failure: long ? { code: 'x', message: hostile('the batch failed') } : null,
    retrying: long ? { step: 'create', part: 3, error: hostile('connect ECONNREFUSED'), sinceMs: 0 } : null,
  };
}

function memoBytes(batch: AnybatchBatch): number {
  return defaultPayloadConverter.toPayload(batch)!.data!.length;
}

function largeSpec(): BatchSpec {
  const metadata = largestMetadata();
  expect(parseCreateOptions('openai-compatible', { metadata }).metadata).toEqual(metadata);
  expect(Buffer.byteLength(JSON.stringify(metadata))).toBeGreaterThan(METADATA_BOUND.maxTotalBytes - 200);
  return spec({
    metadata,
    warnings: Array.from({ length: 5_000 }, (_, i) => `body.field_${i}: ${hostile('dropped', 2_000)}`),
    input: { path: '/data/inputs/ab_memo.jsonl', requestCount: 1_000_000, bytes: 1e9, model: 'm'.repeat(HUGE) },
  });
}

test('the bound is documented: 256 KiB', () => {
  expect(MAX_BATCH_BYTES).toBe(256 * 1024);
});

test('a batch of 3,000 parts, the largest metadata and huge provider texts keeps its memo under the bound', () => {
  const s = largeSpec();
  const view = jobView(s, largeState(3_000, true));
  expect(memoBytes(view)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
  // What the UI and the client need is there: the metadata whole, the counts, the first provider batches, the rest counted.
  expect(view.metadata).toEqual(s.metadata);
  expect(view.request_counts?.total).toBe(1_000_000);
  expect(view.anybatch.provider_batches.length).toBeGreaterThan(0);
  expect(view.anybatch.provider_batches.length + (view.anybatch.provider_batches_omitted ?? 0)).toBe(2_000);
  expect(view.errors?.data?.length).toBeLessThanOrEqual(50);
  expect(view.anybatch.warnings.length).toBeLessThanOrEqual(20);
  expect(view.anybatch.warnings.at(-1)).toMatch(/^4981 more warnings/);
  expect(view.anybatch.failure!.startsWith('the batch failed')).toBe(true);
  expect(view.anybatch.failure!.endsWith('…')).toBe(true);
  // A provider's extra error fields are not carried.
  expect(Object.keys(view.errors!.data![0]).sort()).toEqual(['code', 'line', 'message', 'param']);
});

test('many parts with ordinary texts: every provider batch is listed up to well past a thousand', () => {
  const view = jobView(spec(), largeState(2_100, false));
  expect(memoBytes(view)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
  expect(view.anybatch.provider_batches).toHaveLength(1_400);
  expect(view.anybatch.provider_batches_omitted).toBeUndefined();
  const more = jobView(spec(), largeState(6_000, false));
  expect(memoBytes(more)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
  expect(more.anybatch.provider_batches.length).toBeGreaterThan(1_000);
  expect(more.anybatch.provider_batches.length + more.anybatch.provider_batches_omitted!).toBe(4_000);
  expect(more.anybatch.provider_batches[0].id).toBe(`batch_${'0'.repeat(32)}`);
});

test('an ordinary batch is unchanged by the bound', () => {
  const state = largeState(30, false);
  const view = jobView(spec({ metadata: { team: 'qa' }, warnings: ['seed: ignored'] }), state);
  expect(boundedBatch(view)).toEqual(view);
  expect(view.anybatch.provider_batches_omitted).toBeUndefined();
});

test('the Web UI details are bounded too', () => {
  const view = jobView(largeSpec(), largeState(3_000, true));
  expect(currentDetails(view).length).toBeLessThan(16 * 1024);
});

test('the first workflow generation (batchWorkflow, src/workflows/legacy/) records a bounded batch too', () => {
  const parts = Array.from({ length: 3_000 }, (_, i) => ({
    index: i,
    path: `/p${i}`,
    requestCount: 200,
    bytes: 1000,
    prepared: { kind: 'file', fileId: `file-${i}` },
    batch: providerBatch(i, true),
    cancelSent: false,
    error: { code: 'e', message: hostile('part failed') },
    results: null,
  }));
  const raw = buildBatch(largeSpec(), { parts, cancelRequested: false, results: null, failure: null, finishedAt: null, pollFailures: 3, pollError: hostile('poll') } as never);
  expect(memoBytes(boundedBatch(raw))).toBeLessThanOrEqual(MAX_BATCH_BYTES);
});
