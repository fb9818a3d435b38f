/**
 * Mistral <-> OpenAI, as pure functions: request lines (OpenAI's or Mistral's own in, Mistral's `{custom_id, body}`
 * out, `body.model` moved to the job), the job object (uppercase statuses, `total_requests`/`succeeded_requests`/
 * `failed_requests`) as OpenAI's `Batch`, and output/error file lines as OpenAI output lines.
 */
import type { Batch, BatchStatus } from '../../contract/batch';
import type { ResultLine } from '../types';

/** Mistral's job statuses (an open enum) and the OpenAI status each maps to. */
export const MISTRAL_STATUS_MAP = {
  QUEUED: 'validating',
  RUNNING: 'in_progress',
  SUCCESS: 'completed',
  FAILED: 'failed',
  TIMEOUT_EXCEEDED: 'expired',
  CANCELLATION_REQUESTED: 'cancelling',
  CANCELLED: 'cancelled',
} as const satisfies Record<string, BatchStatus>;

/** What the SDK returns for a job (camelCase; `BatchJob` in its models/components). */
export interface MistralJob {
  id: string;
  inputFiles: string[];
  metadata?: Record<string, unknown> | null;
  endpoint: string;
  model?: string | null;
  outputFile?: string | null;
  errorFile?: string | null;
  errors: { message: string; count?: number }[];
  status: string;
  createdAt: number;
  totalRequests: number;
  completedRequests: number;
  succeededRequests: number;
  failedRequests: number;
  startedAt?: number | null;
  completedAt?: number | null;
}

export class LineTranslationError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** One input line (OpenAI's or Mistral's) as Mistral's `{custom_id, body}`, with the model taken out of the body. */
export function toMistralLine(line: Record<string, unknown>, endpoint: string): { customId: string; model: string | null; text: string } {
  if (line.url !== undefined && line.url !== endpoint) {
    throw new LineTranslationError(`url must be the batch endpoint "${endpoint}", got ${JSON.stringify(line.url)}`, 'url');
  }
  if (line.method !== undefined && line.method !== 'POST') throw new LineTranslationError(`method must be "POST", got ${JSON.stringify(line.method)}`, 'method');
  const { model, ...body } = (line.body ?? {}) as Record<string, unknown>;
  const customId = String(line.custom_id);
  return { customId, model: typeof model === 'string' ? model : null, text: JSON.stringify({ custom_id: customId, body }) };
}

export function batchStatus(status: string): BatchStatus {
  const mapped = (MISTRAL_STATUS_MAP as Record<string, BatchStatus>)[status];
  if (mapped === undefined) throw new Error(`Mistral returned an unknown job status ${JSON.stringify(status)}`);
  return mapped;
}

/** Which OpenAI timestamp Mistral's `completed_at` fills, by final status. */
const ENDED_FIELD: Partial<Record<BatchStatus, 'completed_at' | 'failed_at' | 'expired_at' | 'cancelled_at'>> = {
  completed: 'completed_at',
  failed: 'failed_at',
  expired: 'expired_at',
  cancelled: 'cancelled_at',
};

function stringMetadata(metadata: Record<string, unknown> | null | undefined): Record<string, string> | null {
  if (!metadata) return null;
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/** A Mistral job as OpenAI's `Batch`. */
export function toOpenAIBatch(job: MistralJob, completionWindow = '24h'): Batch {
  const status = batchStatus(job.status);
  const out: Batch = {
    id: job.id,
    object: 'batch',
    endpoint: job.endpoint,
    input_file_id: job.inputFiles[0] ?? '',
    completion_window: completionWindow,
    status,
    created_at: job.createdAt,
    output_file_id: job.outputFile ?? undefined,
    error_file_id: job.errorFile ?? undefined,
    request_counts: { total: job.totalRequests, completed: job.succeededRequests, failed: job.failedRequests },
    metadata: stringMetadata(job.metadata),
    ...(job.model ? { model: job.model } : {}),
  };
  if (job.startedAt != null) out.in_progress_at = job.startedAt;
  if (status === 'cancelling') out.cancelling_at = job.completedAt ?? job.startedAt ?? job.createdAt;
  const ended = ENDED_FIELD[status];
  if (ended && job.completedAt != null) out[ended] = job.completedAt;
  if (job.errors.length > 0) {
    out.errors = {
      object: 'list',
      data: job.errors.map((e) => ({ code: 'batch_error', message: (e.count ?? 1) > 1 ? `${e.message} (${e.count} times)` : e.message, line: null, param: null })),
    };
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A line of a job's output or error file (`{id, custom_id, response: {status_code, body}, error}`) as OpenAI's. */
export function toOpenAIResultLine(line: Record<string, unknown>): ResultLine {
  const customId = String(line.custom_id);
  const id = typeof line.id === 'string' ? line.id : `mistral-${customId}`;
  const response = isObject(line.response) ? line.response : null;
  const status = response && typeof response.status_code === 'number' ? response.status_code : null;
  const requestId = response && typeof response.request_id === 'string' ? response.request_id : id;
  let error: ResultLine['error'] = null;
  if (isObject(line.error)) {
    error = { code: String(line.error.code ?? line.error.type ?? 'request_failed'), message: String(line.error.message ?? JSON.stringify(line.error)) };
  } else if (typeof line.error === 'string' && line.error !== '') {
    error = { code: 'request_failed', message: line.error };
  }
  return {
    id,
    custom_id: customId,
    response: response ? { status_code: status ?? (error ? 500 : 200), request_id: requestId, body: response.body ?? null } : null,
    error,
  };
}
