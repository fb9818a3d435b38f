/**
 * A Bedrock model invocation job -> OpenAI's `Batch` (provider-apis-3.md section 1: statuses and counts), with what
 * its `manifest.json.out` adds once it ended (./manifest.ts): the counts the job lacks, and its tokens as `usage`.
 */
import type { GetModelInvocationJobCommandOutput } from '@aws-sdk/client-bedrock';
import type { Batch, BatchStatus } from '../../contract/batch';
import { manifestUsage, type BedrockManifest } from './manifest';

/** Bedrock's job statuses and the OpenAI status each reads as. */
export const BEDROCK_STATUS_MAP: Readonly<Record<string, BatchStatus>> = {
  Submitted: 'validating',
  Validating: 'validating',
  Scheduled: 'in_progress',
  InProgress: 'in_progress',
  Stopping: 'cancelling',
  Stopped: 'cancelled',
  Completed: 'completed',
  // "Not all of your records could be processed in time": the job ran out of time with some records answered, which is
  // OpenAI's `expired` (partial results; the rest are `batch_expired`). Bedrock's own Expired is a job that never began.
  PartiallyCompleted: 'expired',
  Failed: 'failed',
  Expired: 'expired',
};

export type BedrockJob = Omit<GetModelInvocationJobCommandOutput, '$metadata'>;

const seconds = (d: Date | undefined): number | null => (d instanceof Date && !Number.isNaN(d.getTime()) ? Math.floor(d.getTime() / 1000) : null);

/** The job's id: the last segment of its ARN. */
export function jobIdOf(jobArn: string): string {
  return jobArn.slice(jobArn.lastIndexOf('/') + 1);
}

/** The job as a batch; `manifest`, when read, fills each count the job lacks and gives the batch its `usage`. */
export function toOpenAIBatch(job: BedrockJob, manifest: BedrockManifest | null = null): Batch {
  const status = BEDROCK_STATUS_MAP[job.status ?? ''];
  if (!status) throw new Error(`Bedrock job ${job.jobArn} has a status anybatch does not know: ${JSON.stringify(job.status)}`);
  const created = seconds(job.submitTime) ?? 0;
  const ended = seconds(job.endTime) ?? seconds(job.lastModifiedTime);
  const total = job.totalRecordCount ?? manifest?.totalRecordCount ?? 0;
  const completed = job.successRecordCount ?? manifest?.successRecordCount ?? 0;
  const failed = job.errorRecordCount ?? manifest?.errorRecordCount ?? 0;
  const at = (when: number | null) => (when === null ? undefined : when);
  const batch: Batch = {
    id: job.jobArn ?? '',
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: job.inputDataConfig?.s3InputDataConfig?.s3Uri ?? '',
    completion_window: `${job.timeoutDurationInHours ?? 24}h`,
    status,
    created_at: created,
    in_progress_at: status === 'validating' ? undefined : created,
    expires_at: at(seconds(job.jobExpirationTime)),
    completed_at: status === 'completed' ? at(ended) : undefined,
    failed_at: status === 'failed' ? at(ended) : undefined,
    expired_at: status === 'expired' ? at(ended) : undefined,
    cancelling_at: status === 'cancelling' || status === 'cancelled' ? at(seconds(job.lastModifiedTime)) : undefined,
    cancelled_at: status === 'cancelled' ? at(ended) : undefined,
    request_counts: { total: Math.max(total, completed + failed), completed, failed },
    metadata: null,
  };
  const usage = manifest ? manifestUsage(manifest) : null;
  if (usage) batch.usage = usage;
  if (status === 'failed') batch.errors = { object: 'list', data: [{ code: 'job_failed', message: job.message ?? 'The Bedrock job failed without a message.' }] };
  return batch;
}
