/**
 * The one gate every provider batch object passes on its way to the workflow (`getAdapter` in ./registry.ts wraps
 * `createBatch`, `retrieveBatch` and `cancelBatch` with it). An adapter maps what the provider sent, but a provider,
 * above all a self-hosted OpenAI-compatible server, can send request counts as "5", 1.5, 1e20, -3 or NaN. The workflow
 * sums and compares those numbers and writes them as Int search attributes: one such value failed every workflow task
 * of the batch, forever. Here each number the workflow reads becomes a safe non-negative integer and the status one
 * the workflow knows. Pure; a batch whose numbers are already safe integers and whose status is OpenAI's passes with
 * the same values.
 */
import type { Batch, BatchStatus } from '../contract/batch';

/** OpenAI's batch statuses (`Batch['status']`), the only ones the workflow acts on. */
const STATUSES: readonly BatchStatus[] = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'];

/** Spellings of a status that mean one of OpenAI's (US English, as some servers write it). */
const STATUS_ALIASES: Readonly<Record<string, BatchStatus>> = { canceled: 'cancelled', canceling: 'cancelling' };

/** Unix-seconds fields that may be absent (or null, as OpenAI sends them) until their event happens. */
const OPTIONAL_TIMES = ['in_progress_at', 'finalizing_at', 'completed_at', 'failed_at', 'expired_at', 'expires_at', 'cancelling_at', 'cancelled_at'] as const;

/** A decimal number written as a string, as a lenient server may send a count ("5", " 12 ", "3.0"). */
const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * `value` as a safe non-negative integer, or null when it is no number at all. A number or decimal string is
 * truncated to an integer, a negative one becomes 0 and one above `Number.MAX_SAFE_INTEGER` becomes that; anything
 * else (NaN, ±Infinity, a non-numeric string, null, an object) is null.
 */
export function safeInteger(value: unknown): number | null {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && DECIMAL.test(value)) n = Number(value);
  else if (typeof value === 'bigint') n = Number(value);
  else return null;
  if (!Number.isFinite(n)) return null;
  if (n <= 0) return 0;
  return n >= Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : Math.floor(n);
}

/** A count: a safe non-negative integer, 0 when the provider sent none that reads as a number. */
function count(value: unknown): number {
  return safeInteger(value) ?? 0;
}

/**
 * One of OpenAI's statuses. A known one passes (case and surrounding spaces ignored, US spellings accepted); any
 * other value reads as `in_progress`: not terminal, so the workflow keeps polling instead of taking the batch as
 * ended and writing every request's outcome while the provider may still run them. A provider that stays in a
 * status anybatch does not know is polled until the batch's own deadlines end it. The unknown value is not kept.
 */
export function normalizeStatus(value: unknown): BatchStatus {
  if (typeof value !== 'string') return 'in_progress';
  const status = value.trim().toLowerCase();
  if ((STATUSES as readonly string[]).includes(status)) return status as BatchStatus;
  return STATUS_ALIASES[status] ?? 'in_progress';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `batch` with every number the workflow sums or compares made a safe non-negative integer and `status` one of
 * OpenAI's. `request_counts` and `usage` keep their shape (a missing count is 0) or, when they are not objects, are
 * dropped (no counts known); `created_at` is 0 when unreadable; the optional timestamps that are present are kept,
 * as null when unreadable; `progress` is a whole percent 0-100, or dropped when unreadable. Other fields are copied
 * as they are. Returns a new object; `batch` is not changed.
 */
export function normalizeProviderBatch(batch: Batch): Batch {
  const out: Batch = { ...batch, status: normalizeStatus(batch.status), created_at: count(batch.created_at) };
  // Null stays possible at run time (OpenAI sends it for events not yet happened), whatever the SDK's type says.
  const times = out as unknown as Record<string, number | null | undefined>;
  for (const field of OPTIONAL_TIMES) {
    if (batch[field] !== undefined) times[field] = safeInteger(batch[field]);
  }
  const counts: unknown = batch.request_counts;
  if (isObject(counts)) out.request_counts = { ...counts, total: count(counts.total), completed: count(counts.completed), failed: count(counts.failed) };
  else delete out.request_counts;
  const usage: unknown = batch.usage;
  if (isObject(usage)) {
    const input = isObject(usage.input_tokens_details) ? usage.input_tokens_details : {};
    const output = isObject(usage.output_tokens_details) ? usage.output_tokens_details : {};
    out.usage = {
      ...usage,
      input_tokens: count(usage.input_tokens),
      input_tokens_details: { ...input, cached_tokens: count(input.cached_tokens) },
      output_tokens: count(usage.output_tokens),
      output_tokens_details: { ...output, reasoning_tokens: count(output.reasoning_tokens) },
      total_tokens: count(usage.total_tokens),
    };
  } else {
    delete out.usage;
  }
  if (batch.progress !== undefined) {
    const progress = safeInteger(batch.progress);
    if (progress === null) delete out.progress;
    else out.progress = Math.min(100, progress);
  }
  return out;
}
