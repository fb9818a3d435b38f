/**
 * JSON shapes the sandbox sends, as the OpenAI API sends them: every key present, `null` when unset
 * (the OpenAPI spec marks most keys optional, but real responses and the spec's examples carry them all).
 */

export type BatchStatus =
  | 'validating'
  /** Cerebras's: validated, waiting to run (a dialect with `queued`; OpenAI has no such status). */
  | 'queued'
  | 'failed'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'expired'
  | 'cancelling'
  | 'cancelled';

export const TERMINAL_STATUSES: readonly BatchStatus[] = ['failed', 'completed', 'expired', 'cancelled'];

export interface BatchErrorJson {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface RequestCountsJson {
  total: number;
  completed: number;
  failed: number;
}

export interface UsageJson {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface BatchJson {
  id: string;
  object: 'batch';
  endpoint: string;
  model: string | null;
  errors: { object: 'list'; data: BatchErrorJson[] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: RequestCountsJson;
  usage: UsageJson | null;
  metadata: Record<string, string | string[]> | null;
}

export type FilePurpose =
  | 'assistants'
  | 'assistants_output'
  | 'batch'
  | 'batch_output'
  | 'fine-tune'
  | 'fine-tune-results'
  | 'vision'
  | 'user_data'
  | 'evals';

/** Purposes a client may upload with (`CreateFileRequest.purpose`). */
export const UPLOAD_PURPOSES: readonly FilePurpose[] = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];

export interface FileJson {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at: number | null;
  filename: string;
  purpose: FilePurpose;
  status: 'processed';
  status_details: null;
}

export interface ListJson<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** One line of a batch output or error file (spec 2.7). */
export interface OutputLineJson {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

/** `CreateBatchRequest.endpoint` enum of the OpenAPI spec. */
export const BATCH_ENDPOINTS: readonly string[] = [
  '/v1/responses',
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/moderations',
  '/v1/images/generations',
  '/v1/images/edits',
  '/v1/videos',
];

/** Bounds of `expires_after.seconds` (uploads) and `output_expires_after.seconds` (batches): 1 hour to 30 days. */
export const FILE_EXPIRY_SECONDS = { min: 3600, max: 2_592_000 } as const;
