/**
 * Mistral's wire objects, exactly as `@mistralai/mistralai` validates them (its `models/components`: `BatchJob`,
 * `CreateFileResponse`, `GetFileResponse`, `ListFilesResponse`, `ListBatchJobsResponse`): integers for counts and
 * times, `input_files` and `errors` always present, files with `sample_type` and `source`.
 */
export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT_EXCEEDED', 'CANCELLATION_REQUESTED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The endpoints Mistral batches take (its `ApiEndpoint` enum). The stand-in model answers the first three. */
export const MISTRAL_BATCH_ENDPOINTS: readonly string[] = [
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/moderations',
  '/v1/fim/completions',
  '/v1/chat/moderations',
  '/v1/ocr',
  '/v1/classifications',
  '/v1/chat/classifications',
  '/v1/conversations',
  '/v1/audio/transcriptions',
];
export const ANSWERED_ENDPOINTS: readonly string[] = ['/v1/chat/completions', '/v1/embeddings', '/v1/moderations'];

export type SampleType = 'batch_request' | 'batch_result' | 'batch_error';

export interface MistralFileJson {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: 'batch';
  sample_type: SampleType;
  num_lines: number | null;
  mimetype: string | null;
  source: 'upload' | 'mistral';
  signature: null;
  expires_at: number | null;
  visibility: 'workspace';
}

export interface BatchJobJson {
  id: string;
  object: 'batch';
  input_files: string[];
  metadata: Record<string, string> | null;
  endpoint: string;
  model: string | null;
  agent_id: null;
  output_file: string | null;
  error_file: string | null;
  errors: { message: string; count: number }[];
  outputs: null;
  status: JobStatus;
  created_at: number;
  total_requests: number;
  completed_requests: number;
  succeeded_requests: number;
  failed_requests: number;
  started_at: number | null;
  completed_at: number | null;
}
