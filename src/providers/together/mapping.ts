/**
 * Together <-> OpenAI, as pure functions (docs/provider-apis-2.md sections 6 and 11): request lines (OpenAI's
 * `{custom_id, method, url, body}` in, Together's `{custom_id, body}` out), the `BatchJob` (uppercase statuses, ISO
 * timestamps, `progress` 0-100 and no counts) as OpenAI's `Batch`, result lines (`{custom_id, response:
 * {status_code, body}, error}`) as OpenAI output lines, and the file name that carries the idempotency key.
 */
import { createHash } from 'node:crypto';
import type { Batch, BatchStatus } from '../../contract/batch';
import type { ResultLine } from '../types';

/** Together's job statuses and the OpenAI status each maps to; any other (new) status reads as `in_progress`. */
export const TOGETHER_STATUS_MAP = {
  VALIDATING: 'validating',
  IN_PROGRESS: 'in_progress',
  COMPLETED: 'completed',
  FAILED: 'failed',
  EXPIRED: 'expired',
  CANCELLED: 'cancelled',
} as const satisfies Record<string, BatchStatus>;

/** A `BatchJob` as Together sends it (every field optional in its SDK's types). */
export interface TogetherJob {
  id?: string;
  user_id?: string;
  input_file_id?: string;
  file_size_bytes?: number;
  status?: string;
  job_deadline?: string | null;
  created_at?: string | null;
  completed_at?: string | null;
  endpoint?: string;
  progress?: number | null;
  model_id?: string | null;
  output_file_id?: string | null;
  error_file_id?: string | null;
  error?: string | null;
}

export function togetherStatus(status: string | undefined): BatchStatus {
  return (status !== undefined && Object.prototype.hasOwnProperty.call(TOGETHER_STATUS_MAP, status) ? TOGETHER_STATUS_MAP[status as keyof typeof TOGETHER_STATUS_MAP] : 'in_progress');
}

/**
 * Unix seconds of a Together timestamp: an ISO string (jobs) or a number (files: unix seconds; milliseconds are
 * recognised by their size). Null when unset or unreadable: a time Together did not give is not invented.
 */
export function togetherSeconds(time: string | number | null | undefined): number | null {
  if (time === null || time === undefined || time === '') return null;
  if (typeof time === 'number') {
    if (!Number.isFinite(time) || time <= 0) return null;
    return Math.floor(time > 1e12 ? time / 1000 : time);
  }
  if (/^\d+(\.\d+)?$/.test(time)) return togetherSeconds(Number(time));
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** Which OpenAI timestamp Together's `completed_at` fills, by final status. */
const ENDED_FIELD: Partial<Record<BatchStatus, 'completed_at' | 'failed_at' | 'expired_at' | 'cancelled_at'>> = {
  completed: 'completed_at',
  failed: 'failed_at',
  expired: 'expired_at',
  cancelled: 'cancelled_at',
};

export interface TogetherBatchContext {
  /** The endpoint when the job does not say (it always does at Together). */
  endpoint?: string;
  /** The clock, unix seconds, for a job without a readable `created_at` (tests pass their own). */
  nowS?: number;
}

/** The job's percent done, as Together reports it (0-100), or undefined. */
function progressOf(job: TogetherJob): number | undefined {
  const p = job.progress;
  if (typeof p !== 'number' || !Number.isFinite(p)) return undefined;
  return Math.min(100, Math.max(0, p));
}

/**
 * A Together job as OpenAI's `Batch`. Together reports no request counts, so `request_counts` is absent (the
 * orchestrator's counts become exact once the results are merged); `progress` carries Together's percentage.
 * Together gives no start time either, so `in_progress_at` is absent.
 */
export function toOpenAIBatch(job: TogetherJob, ctx: TogetherBatchContext = {}): Batch {
  const status = togetherStatus(job.status);
  const created = togetherSeconds(job.created_at) ?? ctx.nowS ?? Math.floor(Date.now() / 1000);
  const out: Batch = {
    id: job.id ?? '',
    object: 'batch',
    endpoint: job.endpoint || ctx.endpoint || '/v1/chat/completions',
    input_file_id: job.input_file_id ?? '',
    completion_window: '24h',
    status,
    created_at: created,
    metadata: null,
  };
  const deadline = togetherSeconds(job.job_deadline);
  if (deadline !== null) out.expires_at = deadline;
  const ended = ENDED_FIELD[status];
  const completed = togetherSeconds(job.completed_at);
  if (ended && completed !== null) out[ended] = completed;
  if (job.output_file_id) out.output_file_id = job.output_file_id;
  if (job.error_file_id) out.error_file_id = job.error_file_id;
  if (job.model_id) out.model = job.model_id;
  if (typeof job.error === 'string' && job.error.trim() !== '') {
    out.errors = { object: 'list', data: [{ code: status === 'failed' ? 'batch_failed' : 'batch_error', message: job.error, line: null, param: null }] };
  }
  const progress = progressOf(job);
  if (progress !== undefined) out.progress = progress;
  return out;
}

// ---- request lines ----

/** A line that cannot be sent to Together; the adapter reports it with the line and field. */
export class LineTranslationError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'LineTranslationError';
  }
}

/** Characters as Together counts them (code points, not UTF-16 units). */
function characters(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** A custom_id shortened for messages: enough to find the line, never a whole long id. */
export function previewId(id: string): string {
  return JSON.stringify(characters(id) > 40 ? `${[...id].slice(0, 40).join('')}…` : id);
}

/**
 * One OpenAI batch line (already validated: `custom_id`, `method: POST`, `url` = the endpoint, `body` with a
 * model) as Together's `{custom_id, body}`. The body keeps its model (Together reads it per line; the adapter also
 * sends it as the job's `model_id`). The id sent is `sendId(custom_id)`: the adapter's map (../custom-ids.ts), which
 * gives an id over Together's 64 characters a stand-in that the results are mapped back from.
 */
export function toTogetherLine(
  line: Record<string, unknown>,
  endpoint: string,
  sendId: (customId: string) => string = (id) => id,
): { customId: string; sentId: string; model: string | null; text: string } {
  if (typeof line.custom_id !== 'string' || line.custom_id === '') throw new LineTranslationError('custom_id must be a non-empty string', 'custom_id');
  const customId = line.custom_id;
  if (line.url !== undefined && line.url !== endpoint) throw new LineTranslationError(`url must be the batch endpoint "${endpoint}", got ${JSON.stringify(line.url)}`, 'url');
  if (line.method !== undefined && line.method !== 'POST') throw new LineTranslationError(`method must be "POST", got ${JSON.stringify(line.method)}`, 'method');
  const body = line.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new LineTranslationError('body must be an object', 'body');
  const model = (body as { model?: unknown }).model;
  const sentId = sendId(customId);
  return { customId, sentId, model: typeof model === 'string' ? model : null, text: JSON.stringify({ custom_id: sentId, body }) };
}

// ---- the idempotency key in the file name ----

/**
 * The name of a part's translated input, unique to its idempotency key (`<batch id>/<part>`): filename-safe
 * characters only, deterministic, and collision-free (keys that sanitise alike differ in the digest). With the
 * part's run nonce (src/providers/run-nonce.ts) the digest covers it too: the name of this run's upload, which no
 * earlier run of the same batch id and no other deployment can have.
 */
export function keyFileName(idempotencyKey: string, nonce?: string): string {
  const safe = idempotencyKey.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 80);
  const digest = createHash('sha256')
    .update(nonce === undefined ? idempotencyKey : `${idempotencyKey}\n${nonce}`, 'utf8')
    .digest('hex')
    .slice(0, 10);
  return `anybatch-${safe || 'part'}-${digest}.jsonl`;
}

// ---- result lines ----

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lineId(batchId: string, customId: string): string {
  return 'batch_req_' + createHash('sha256').update(`together\0${batchId}\0${customId}`).digest('hex').slice(0, 32);
}

/**
 * A line of a job's output or error file (`{custom_id, response: {status_code, body}, error}`) as OpenAI's, under
 * the caller's custom_id (`originalId` maps a stand-in the adapter sent back to it). `error` may be an object
 * (`{message, type, code}`) or a string; a line with neither a response nor an error is a failure Together did not
 * explain.
 */
export function toOpenAIResultLine(line: Record<string, unknown>, batchId: string, originalId: (sentId: string) => string = (id) => id): ResultLine {
  const customId = originalId(typeof line.custom_id === 'string' ? line.custom_id : String(line.custom_id ?? ''));
  const id = typeof line.id === 'string' && line.id !== '' ? line.id : lineId(batchId, customId);
  let error: ResultLine['error'] = null;
  if (isObject(line.error)) {
    const e = line.error;
    error = { code: String(e.code ?? e.type ?? 'request_failed'), message: typeof e.message === 'string' ? e.message : JSON.stringify(e) };
  } else if (typeof line.error === 'string' && line.error !== '') {
    error = { code: 'request_failed', message: line.error };
  }
  const response = isObject(line.response) ? line.response : null;
  if (response === null) {
    return { id, custom_id: customId, response: null, error: error ?? { code: 'missing_response', message: 'Together reported neither a response nor an error for this request.' } };
  }
  const body = response.body ?? null;
  const status = typeof response.status_code === 'number' ? response.status_code : error ? 500 : 200;
  const requestId =
    typeof response.request_id === 'string' ? response.request_id : isObject(body) && typeof body.id === 'string' ? body.id : '';
  return { id, custom_id: customId, response: { status_code: status, request_id: requestId, body }, error };
}
