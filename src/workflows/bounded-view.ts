/**
 * The batch as recorded, bounded: what goes into the workflow's memo (upserted into history with every change, read
 * by `retrieveBatch` and the Web UI), what the status query answers and what the workflow returns. Whatever the
 * number of parts and whatever a provider sends, it takes at most `MAX_BATCH_BYTES` as JSON:
 * - every text a provider or a failure wrote (messages, codes, ids, statuses, model names, warnings, the cost's model
 *   names) is cut to a byte bound of its own, marked `…` (a text within its bound is unchanged);
 * - at most `MAX_ERRORS` errors (each with only `code`, `line`, `message`, `param`), `MAX_WARNINGS` warnings and
 *   `MAX_COST_MODELS` model names in the cost, the last entry of a longer list saying how many more there are;
 * - `provider_batches` lists the first provider batches that fit in what is left, and `provider_batches_omitted`
 *   counts the others (at the usual size of an entry, well over a thousand are listed).
 * The metadata is bounded where it is given (`METADATA_BOUND` in src/options.ts: 16 KiB as JSON) and kept whole.
 * Pure, bundled into workflow code; idempotent.
 */
import type { AnybatchBatch, AnybatchInfo, BatchError, BatchResultFiles, ProviderBatchRef } from '../contract/batch';
import type { BatchCost } from '../contract/cost';

/** The batch as recorded never takes more than this as JSON (Temporal refuses a memo over 2 MB). */
export const MAX_BATCH_BYTES = 256 * 1024;
/** A message: an error's, a failure, a failing step's error, why parts wait, a warning. */
const MAX_TEXT_BYTES = 1024;
/** A name: an id, a code, a status, a model, an error's `param`. */
const MAX_NAME_BYTES = 256;
/** A path or URI (of the input, the results folder, the result files). */
const MAX_PATH_BYTES = 4096;
/** Errors listed in `errors.data`. */
export const MAX_ERRORS = 50;
/** Warnings listed in `anybatch.warnings`. */
export const MAX_WARNINGS = 20;
/** Model names (priced or unknown) listed in the cost. */
const MAX_COST_MODELS = 20;
/** Room kept for `provider_batches_omitted`. */
const OMITTED_BYTES = 40;

/** Bytes of `text` in UTF-8. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? (i++, 4) : 3;
  }
  return n;
}

/** Bytes of `value` as JSON. */
export function jsonBytes(value: unknown): number {
  return utf8Length(JSON.stringify(value) ?? '');
}

/** Bytes one UTF-16 unit (or pair) at `i` takes inside a JSON string, and how many units it is. */
function jsonCost(text: string, i: number): [bytes: number, units: number] {
  const c = text.charCodeAt(i);
  if (c === 0x22 || c === 0x5c) return [2, 1];
  if (c < 0x20) return [c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6, 1];
  if (c < 0x80) return [1, 1];
  if (c < 0x800) return [2, 1];
  if (c >= 0xd800 && c <= 0xdbff) {
    const next = text.charCodeAt(i + 1);
    return next >= 0xdc00 && next <= 0xdfff ? [4, 2] : [6, 1];
  }
  return c >= 0xdc00 && c <= 0xdfff ? [6, 1] : [3, 1];
}

/** `text` whole when its JSON string takes at most `max` bytes (quotes aside), else its longest prefix that does with `…`. */
export function clip(text: string, max: number): string {
  if (text.length * 6 <= max) return text;
  let bytes = 0;
  let cut = -1;
  for (let i = 0; i < text.length; ) {
    const [b, units] = jsonCost(text, i);
    if (cut === -1 && bytes + b > max - 3) cut = i;
    bytes += b;
    if (bytes > max) return `${text.slice(0, cut)}…`;
    i += units;
  }
  return text;
}

function clipped(value: unknown, max: number): string {
  return clip(typeof value === 'string' ? value : String(value), max);
}

/** `list` whole when it has at most `max` entries, else its first `max - 1` and one saying how many more. */
function capped<T>(list: readonly T[], max: number, more: (n: number) => T): T[] {
  return list.length <= max ? [...list] : [...list.slice(0, max - 1), more(list.length - max + 1)];
}

function boundedError(e: BatchError): BatchError {
  const out: BatchError = {};
  if (e.code !== undefined) out.code = clipped(e.code, MAX_NAME_BYTES);
  if (e.line !== undefined) out.line = typeof e.line === 'number' && Number.isSafeInteger(e.line) ? e.line : null;
  if (e.message !== undefined) out.message = clipped(e.message, MAX_TEXT_BYTES);
  if (e.param !== undefined) out.param = e.param === null ? null : clipped(e.param, MAX_NAME_BYTES);
  return out;
}

function boundedRef(ref: ProviderBatchRef): ProviderBatchRef {
  const out = { ...ref, id: clipped(ref.id, MAX_NAME_BYTES), input_file_id: ref.input_file_id === null ? null : clipped(ref.input_file_id, MAX_NAME_BYTES) };
  out.status = clipped(ref.status, MAX_NAME_BYTES) as ProviderBatchRef['status'];
  return out;
}

function boundedCost(cost: BatchCost): BatchCost {
  if (cost.total === null) {
    const unknown = capped(cost.unknown_models.map((m) => clipped(m, MAX_NAME_BYTES)), MAX_COST_MODELS, (n) => `${n} more models`);
    return { ...cost, unknown_models: unknown, reason: clipped(cost.reason, MAX_TEXT_BYTES) };
  }
  const prices = cost.prices.slice(0, MAX_COST_MODELS).map((p) => ({ ...p, model: clipped(p.model, MAX_NAME_BYTES), source: clipped(p.source, MAX_NAME_BYTES) }));
  return { ...cost, prices };
}

function boundedResults(results: BatchResultFiles): BatchResultFiles {
  const out = { ...results, output_path: clipped(results.output_path, MAX_PATH_BYTES), errors_path: clipped(results.errors_path, MAX_PATH_BYTES) };
  if (results.output_uri !== undefined) out.output_uri = clipped(results.output_uri, MAX_PATH_BYTES);
  if (results.errors_uri !== undefined) out.errors_uri = clipped(results.errors_uri, MAX_PATH_BYTES);
  if (results.cost !== undefined) out.cost = boundedCost(results.cost);
  return out;
}

/** The batch within `MAX_BATCH_BYTES` as JSON (see the module's comment); a batch already within every bound is unchanged. */
export function boundedBatch(batch: AnybatchBatch): AnybatchBatch {
  const info = batch.anybatch;
  const anybatch: AnybatchInfo = {
    ...info,
    provider_batches: [],
    input_path: clipped(info.input_path, MAX_PATH_BYTES),
    results_dir: clipped(info.results_dir, MAX_PATH_BYTES),
    results: info.results ? boundedResults(info.results) : info.results,
    failure: info.failure === null ? null : clipped(info.failure, MAX_TEXT_BYTES),
    warnings: capped((info.warnings ?? []).map((w) => clipped(w, MAX_TEXT_BYTES)), MAX_WARNINGS, (n) => `${n} more warnings`),
  };
  delete anybatch.provider_batches_omitted;
  if (info.retrying) anybatch.retrying = { ...info.retrying, step: clipped(info.retrying.step, MAX_NAME_BYTES), error: clipped(info.retrying.error, MAX_TEXT_BYTES) };
  if (info.queued) anybatch.queued = { ...info.queued, reason: clipped(info.queued.reason, MAX_TEXT_BYTES) };
  if (info.cost) anybatch.cost = boundedCost(info.cost);
  const out: AnybatchBatch = { ...batch, input_file_id: clipped(batch.input_file_id, MAX_NAME_BYTES), anybatch };
  if (batch.model !== undefined) out.model = clipped(batch.model, MAX_NAME_BYTES);
  if (batch.errors) {
    const data = capped((batch.errors.data ?? []).map(boundedError), MAX_ERRORS, (n) => ({ code: 'more_errors', message: `${n} more errors (each part's are in errors.jsonl)` }));
    out.errors = { ...batch.errors, data };
  }
  // The provider batches: the first ones that fit in what the rest leaves.
  const refs = info.provider_batches;
  let bytes = jsonBytes(out) + OMITTED_BYTES;
  let kept = 0;
  const listed: ProviderBatchRef[] = [];
  for (const ref of refs) {
    const bounded = boundedRef(ref);
    const size = jsonBytes(bounded) + 1;
    if (bytes + size > MAX_BATCH_BYTES) break;
    listed.push(bounded);
    bytes += size;
    kept += 1;
  }
  anybatch.provider_batches = listed;
  const omitted = refs.length - kept + (info.provider_batches_omitted ?? 0);
  if (omitted > 0) anybatch.provider_batches_omitted = omitted;
  return out;
}
