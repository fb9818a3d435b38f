/**
 * One xAI batch result -> one OpenAI batch output line (docs/provider-apis-2.md section 8). A success
 * (`batch_result.response.chat_get_completion`, or the response's one body for other endpoints) is a 200 with that
 * body; a request failed when it has an `error_message` or an `error.code` other than 0, and is a line with the
 * HTTP status of the error's gRPC code and OpenAI's error body.
 */
import { createHash } from 'node:crypto';
import type { ResultLine } from '../types';
import type { XaiResult } from './wire';

/** gRPC status codes (xAI's `error.code`) -> the HTTP status a synchronous call would have answered with. */
const GRPC_HTTP: Record<number, number> = {
  1: 499,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

export function httpStatusOf(code: unknown): number {
  const n = typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : code;
  if (typeof n === 'number' && Number.isInteger(n)) {
    if (n >= 400 && n <= 599) return n; // already an HTTP status
    if (Object.prototype.hasOwnProperty.call(GRPC_HTTP, n)) return GRPC_HTTP[n];
  }
  return 500;
}

function lineId(...parts: string[]): string {
  return 'batch_req_' + createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/** The body of a success: `chat_get_completion` for chat, else the response's single value. */
function responseBody(response: Record<string, unknown> | null | undefined): unknown {
  if (!response) return undefined;
  if (response.chat_get_completion !== undefined) return response.chat_get_completion;
  const values = Object.values(response).filter((v) => v !== null && v !== undefined);
  return values.length === 1 ? values[0] : undefined;
}

export function toOpenAIResultLine(result: XaiResult, batchId: string): ResultLine {
  const customId = result.batch_request_id;
  const error = result.batch_result?.error ?? null;
  const errorCode = error?.code ?? null;
  const failed = (typeof result.error_message === 'string' && result.error_message !== '') || (errorCode !== null && errorCode !== 0 && errorCode !== '0');
  const body = responseBody(result.batch_result?.response);
  if (!failed && body !== undefined) {
    const requestId = typeof (body as { id?: unknown }).id === 'string' ? (body as { id: string }).id : '';
    return { id: lineId(batchId, customId), custom_id: customId, response: { status_code: 200, request_id: requestId, body }, error: null };
  }
  const message = result.error_message || error?.message || 'xAI reported no response and no error for this request.';
  const status = failed ? httpStatusOf(errorCode) : 500;
  return {
    id: lineId(batchId, customId, 'error'),
    custom_id: customId,
    response: {
      status_code: status,
      request_id: '',
      body: { error: { message, type: 'xai_error', param: null, code: errorCode === null ? null : String(errorCode) } },
    },
    error: null,
  };
}
