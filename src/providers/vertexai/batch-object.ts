/** A Vertex AI batch prediction job (REST JSON) -> OpenAI's `Batch` (provider-apis-3.md section 2: states and counts). */
import type { Batch, BatchStatus } from '../../contract/batch';

/** Vertex's job states and the OpenAI status each reads as. */
export const VERTEX_STATUS_MAP: Readonly<Record<string, BatchStatus>> = {
  JOB_STATE_UNSPECIFIED: 'validating',
  JOB_STATE_QUEUED: 'validating',
  JOB_STATE_PENDING: 'validating',
  JOB_STATE_RUNNING: 'in_progress',
  JOB_STATE_UPDATING: 'in_progress',
  JOB_STATE_PAUSED: 'in_progress',
  JOB_STATE_SUCCEEDED: 'completed',
  JOB_STATE_PARTIALLY_SUCCEEDED: 'completed',
  JOB_STATE_FAILED: 'failed',
  JOB_STATE_CANCELLING: 'cancelling',
  JOB_STATE_CANCELLED: 'cancelled',
  JOB_STATE_EXPIRED: 'expired',
};

/** The job as Vertex's REST API answers (int64 counts arrive as strings). */
export interface VertexJob {
  name?: string;
  displayName?: string;
  model?: string;
  state?: string;
  error?: { code?: number; message?: string };
  createTime?: string;
  startTime?: string;
  endTime?: string;
  updateTime?: string;
  inputConfig?: { gcsSource?: { uris?: string[] } };
  outputConfig?: { gcsDestination?: { outputUriPrefix?: string } };
  outputInfo?: { gcsOutputDirectory?: string };
  completionStats?: { successfulCount?: string | number; failedCount?: string | number; incompleteCount?: string | number };
  labels?: Record<string, string>;
}

const seconds = (t: string | undefined): number | undefined => {
  const ms = t ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
};
const count = (n: string | number | undefined): number => {
  const value = typeof n === 'string' ? Number(n) : n ?? 0;
  return Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;
};

/** `job` as OpenAI's batch; `total` is the part's request count (Vertex reports only answered and unanswered ones). */
export function toOpenAIBatch(job: VertexJob, total: number | null = null): Batch {
  const status = VERTEX_STATUS_MAP[job.state ?? ''];
  if (!status) throw new Error(`Vertex AI job ${job.name} has a state anybatch does not know: ${JSON.stringify(job.state)}`);
  const created = seconds(job.createTime) ?? 0;
  const ended = seconds(job.endTime) ?? seconds(job.updateTime);
  const completed = count(job.completionStats?.successfulCount);
  const failed = count(job.completionStats?.failedCount);
  const incomplete = count(job.completionStats?.incompleteCount);
  const batch: Batch = {
    id: job.name ?? '',
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: job.inputConfig?.gcsSource?.uris?.[0] ?? '',
    completion_window: '24h',
    status,
    created_at: created,
    in_progress_at: status === 'validating' ? undefined : seconds(job.startTime) ?? created,
    completed_at: status === 'completed' ? ended : undefined,
    failed_at: status === 'failed' ? ended : undefined,
    expired_at: status === 'expired' ? ended : undefined,
    cancelling_at: status === 'cancelling' || status === 'cancelled' ? seconds(job.updateTime) : undefined,
    cancelled_at: status === 'cancelled' ? ended : undefined,
    request_counts: { total: Math.max(total ?? 0, completed + failed + incomplete), completed, failed },
    metadata: null,
  };
  if (status === 'failed') batch.errors = { object: 'list', data: [{ code: 'job_failed', message: job.error?.message ?? 'The Vertex AI job failed without a message.' }] };
  return batch;
}
