/** Anthropic MessageBatch -> OpenAI Batch (docs/provider-apis.md section 10.3, batch object mapping). */
import type { MessageBatch } from '@anthropic-ai/sdk/resources/messages/batches';
import type { Batch, BatchStatus } from '../../contract/batch';

export interface BatchContext {
  /** The OpenAI endpoint the requests were written for, e.g. `/v1/chat/completions`. */
  endpoint: string;
  /** The OpenAI-style input file id to report; '' when there is none. */
  inputFileId?: string;
}

/** RFC 3339 (with microseconds) -> unix seconds; a malformed timestamp is a provider bug worth failing on. */
export function unixSeconds(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`Anthropic returned an unparseable timestamp: ${JSON.stringify(iso)}`);
  return Math.floor(ms / 1000);
}

/** Message Batches' `processing_status` -> OpenAI's status; `ended` is refined by how the batch ended (below). */
export const ANTHROPIC_STATUS_MAP = {
  in_progress: 'in_progress',
  canceling: 'cancelling',
  ended: 'completed',
} as const satisfies Record<MessageBatch['processing_status'], BatchStatus>;

export function batchStatus(batch: MessageBatch): BatchStatus {
  const status: BatchStatus | undefined = (ANTHROPIC_STATUS_MAP as Record<string, BatchStatus>)[batch.processing_status];
  if (status === undefined) throw new Error(`Anthropic returned an unknown processing_status ${JSON.stringify(batch.processing_status)}`);
  if (batch.processing_status !== 'ended') return status;
  if (batch.cancel_initiated_at) return 'cancelled';
  return batch.request_counts.expired > 0 ? 'expired' : status;
}

/** Which OpenAI timestamp Anthropic's single `ended_at` fills, by final status. */
const ENDED_FIELD: Partial<Record<BatchStatus, 'completed_at' | 'expired_at' | 'cancelled_at'>> = {
  completed: 'completed_at',
  expired: 'expired_at',
  cancelled: 'cancelled_at',
};

/** Anthropic MessageBatch -> OpenAI Batch (10.3 batch object mapping). */
export function toOpenAIBatch(batch: MessageBatch, ctx: BatchContext): Batch {
  const status = batchStatus(batch);
  const counts = batch.request_counts;
  const created = unixSeconds(batch.created_at);
  const out: Batch = {
    id: batch.id,
    object: 'batch',
    endpoint: ctx.endpoint,
    input_file_id: ctx.inputFileId ?? '',
    completion_window: '24h',
    status,
    created_at: created,
    // Anthropic starts processing on creation; there is no separate validating phase.
    in_progress_at: created,
    request_counts: {
      total: counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired,
      completed: counts.succeeded,
      failed: counts.errored + counts.canceled + counts.expired,
    },
  };
  if (batch.expires_at) out.expires_at = unixSeconds(batch.expires_at);
  if (batch.cancel_initiated_at) out.cancelling_at = unixSeconds(batch.cancel_initiated_at);
  const endedField = ENDED_FIELD[status];
  if (endedField && batch.ended_at) out[endedField] = unixSeconds(batch.ended_at);
  return out;
}
