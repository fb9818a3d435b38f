/**
 * JSON shapes of Anthropic's Message Batches API as the sandbox sends them: every key present, `null`
 * when unset, timestamps as RFC 3339 strings (unlike OpenAI's unix seconds).
 */

export type ProcessingStatus = 'in_progress' | 'canceling' | 'ended';

export interface MessageBatchCountsJson {
  processing: number;
  succeeded: number;
  errored: number;
  canceled: number;
  expired: number;
}

export interface MessageBatchJson {
  id: string;
  type: 'message_batch';
  processing_status: ProcessingStatus;
  request_counts: MessageBatchCountsJson;
  ended_at: string | null;
  created_at: string;
  expires_at: string;
  archived_at: string | null;
  cancel_initiated_at: string | null;
  results_url: string | null;
}

/** Anthropic's error body, both for HTTP errors and inside `errored` results. */
export interface ErrorResponseJson {
  type: 'error';
  error: { type: string; message: string };
  request_id: string | null;
}

export type ContentBlockJson =
  | { type: 'text'; text: string; citations: null }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown>; caller: { type: 'direct' } };

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use';

export interface MessageJson {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ContentBlockJson[];
  stop_reason: StopReason;
  stop_sequence: null;
  stop_details: null;
  container: null;
  diagnostics: null;
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_creation_input_tokens: number;
    cache_read_input_tokens: number;
    cache_creation: null;
    server_tool_use: null;
    service_tier: 'batch';
    output_tokens_details: null;
    inference_geo: null;
    speed: null;
  };
}

export type MessageBatchResultJson =
  | { type: 'succeeded'; message: MessageJson }
  | { type: 'errored'; error: ErrorResponseJson }
  | { type: 'canceled' }
  | { type: 'expired' };

/** One line of a results file. */
export interface ResultLineJson {
  custom_id: string;
  result: MessageBatchResultJson;
}

/** One line of the sandbox's own copy of a batch's requests, as checked at create. */
export interface StoredRequest {
  custom_id: string;
  params: Record<string, unknown>;
}
