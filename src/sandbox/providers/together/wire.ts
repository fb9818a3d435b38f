/**
 * Together's wire objects (docs/provider-apis-2.md section 6; `together-ai` 0.52 `resources/files.ts` and
 * `resources/batches.ts`): files with `FileType` and `Processed`, batch jobs with uppercase statuses, ISO times,
 * `progress` 0-100 and no request counts, result lines `{custom_id, response: {status_code, body}, error}`.
 */
export const JOB_STATUSES = ['VALIDATING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'EXPIRED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The endpoints `POST /batches` takes (the SDK's `BatchCreateParams.endpoint`). */
export const TOGETHER_BATCH_ENDPOINTS: readonly string[] = ['/v1/chat/completions', '/v1/audio/transcriptions', '/v1/audio/translations'];
/** The one the stand-in model answers (audio lines point at audio files, which the sandbox cannot transcribe). */
export const ANSWERED_ENDPOINTS: readonly string[] = ['/v1/chat/completions'];

export const FILE_PURPOSES: readonly string[] = ['fine-tune', 'eval', 'batch-api'];
export const FILE_TYPES: readonly string[] = ['jsonl', 'parquet', 'csv'];

/** Together's `custom_id` limit, in characters (docs.together.ai, "Batch inference"). */
export const MAX_CUSTOM_ID_LENGTH = 64;

/**
 * The models Together discounts for batch (docs.together.ai batch overview). A job for another model gets a
 * `warning` in the create response: the sandbox's way to exercise `{job, warning}` (Together does not document
 * when it warns).
 */
export const DISCOUNTED_MODELS: readonly string[] = [
  'meta-llama/Llama-3.3-70B-Instruct-Turbo',
  'meta-llama/Llama-3-70b-chat-hf',
  'Qwen/Qwen2.5-7B-Instruct-Turbo',
  'mistralai/Mixtral-8x7B-Instruct-v0.1',
  'zai-org/GLM-4.5-Air-FP8',
  'openai/whisper-large-v3',
];

export interface TogetherFileJson {
  id: string;
  object: 'file';
  bytes: number;
  /** Unix seconds. */
  created_at: number;
  filename: string;
  purpose: string;
  FileType: string;
  Processed: boolean;
}

export interface TogetherJobJson {
  id: string;
  user_id: string;
  input_file_id: string;
  file_size_bytes: number;
  status: JobStatus;
  job_deadline: string;
  created_at: string;
  endpoint: string;
  progress: number;
  model_id?: string;
  output_file_id?: string;
  error_file_id?: string;
  error?: string;
  completed_at?: string;
}

export interface TogetherResultLineJson {
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { message: string; type: string | null; code: string | null } | null;
}
