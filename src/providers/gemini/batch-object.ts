/**
 * A Gemini batch as the REST API sends it (a long-running Operation, read raw because the SDK drops
 * `metadata.batchStats`) -> OpenAI's `Batch`. Counts come from `batchStats` only; without them there are none.
 */
import type { Batch } from '../../contract/batch';
import { geminiBatchStatus, geminiRequestCounts } from './batch-status';
import type { BatchStats, InlinedResponse, Status } from './types';

/** `GET /{v}/batches/{id}` (and the create and list answers), as far as anybatch reads it. */
export interface GeminiOperation {
  name: string;
  done?: boolean;
  error?: Status;
  metadata?: {
    displayName?: string;
    model?: string;
    state?: string;
    createTime?: string;
    updateTime?: string;
    endTime?: string;
    batchStats?: BatchStats;
    inputConfig?: { fileName?: string };
    output?: { responsesFile?: string; inlinedResponses?: { inlinedResponses?: InlinedResponse[] } };
  };
}

/** Prefix of the display name that carries anybatch's idempotency key (with the part's run nonce: `<key>#<nonce>`). */
export const DISPLAY_NAME_PREFIX = 'anybatch:';

export function displayNameOf(idempotencyKey: string): string {
  return `${DISPLAY_NAME_PREFIX}${idempotencyKey}`;
}

/** RFC 3339 -> unix seconds; undefined when absent or unparseable. */
export function unixSeconds(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export function toOpenAIBatch(op: GeminiOperation, endpoint: string): Batch {
  const md = op.metadata ?? {};
  const status = geminiBatchStatus(md.state);
  const created = unixSeconds(md.createTime) ?? 0;
  const ended = unixSeconds(md.endTime) ?? unixSeconds(md.updateTime);
  const out: Batch = {
    id: op.name,
    object: 'batch',
    endpoint,
    input_file_id: md.inputConfig?.fileName ?? '',
    completion_window: '24h',
    status,
    created_at: created,
    metadata: md.displayName ? { display_name: md.displayName } : null,
  };
  if (md.model) out.model = md.model;
  const counts = geminiRequestCounts(md.batchStats);
  if (counts) out.request_counts = counts;
  if (status !== 'validating' && status !== 'failed') out.in_progress_at = created;
  if (ended !== undefined) {
    if (status === 'completed') out.completed_at = ended;
    else if (status === 'failed') out.failed_at = ended;
    else if (status === 'cancelled') out.cancelled_at = ended;
    else if (status === 'expired') out.expired_at = ended;
  }
  if (md.output?.responsesFile) out.output_file_id = md.output.responsesFile;
  if (status === 'failed') {
    const error = op.error;
    out.errors = {
      object: 'list',
      data: [{ code: error?.status ?? 'batch_failed', message: error?.message ?? 'Gemini failed the batch.', line: null, param: null }],
    };
  }
  return out;
}
