/** xAI's REST batch objects (docs/provider-apis-2.md section 8), as the adapter reads them. */

export interface XaiBatchState {
  num_requests: number;
  num_pending: number;
  num_success: number;
  num_error: number;
  num_cancelled: number;
}

/** A timestamp as xAI sends it: RFC 3339 (protobuf JSON), or unix seconds; null or absent when unset. */
export type XaiTime = string | number | null | undefined;

export interface XaiBatch {
  batch_id: string;
  name: string;
  create_time: XaiTime;
  expire_time?: XaiTime;
  cancel_time?: XaiTime;
  cancel_by_xai_message?: string | null;
  state: XaiBatchState;
}

export interface XaiBatchList {
  batches: XaiBatch[];
  pagination_token?: string | null;
}

export interface XaiResultError {
  code?: number | string | null;
  message?: string | null;
}

export interface XaiResult {
  /** The request's `custom_id`. */
  batch_request_id: string;
  batch_result?: {
    /** One key: `chat_get_completion` (a chat.completion body), `image_generation`, ... */
    response?: Record<string, unknown> | null;
    error?: XaiResultError | null;
  } | null;
  error_message?: string | null;
}

export interface XaiResultPage {
  results: XaiResult[];
  pagination_token?: string | null;
}
