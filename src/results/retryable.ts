/**
 * Which failed requests `retryFailed` resubmits: the one rule both the retry round (which collects them) and the
 * merge (which drops the earlier-round error lines of requests that were retried) apply, so the two always agree.
 * Pure (no I/O, no Node imports): the client checks options with it, the worker classifies lines with it.
 *
 * A retry code names what a failed result line may carry:
 * - an HTTP status of the request (`"429"`, `"500"`) or a class of them (`"5xx"`);
 * - an error code or type, in the line's `error.code` (`batch_expired`) or in the response body's `error.code` /
 *   `error.type` (`server_error`, `overloaded_error`);
 * - `timeout`: any such code or type that contains "timeout" (`request_timeout`, `timeout_error`), and 408 / 504.
 *
 * `batch_cancelled` is never retried (a cancel means stop), so it is refused as a code.
 */

/** Resubmitted by default: rate limits, server errors, timeouts, and requests the provider never ran before the batch expired. */
export const DEFAULT_RETRY_CODES: readonly string[] = ['429', '5xx', 'timeout', 'batch_expired'];

/** Codes that can never be retried, whatever the caller asks. */
export const NEVER_RETRIED: readonly string[] = ['batch_cancelled'];

/** Most retry rounds a batch may ask for (each is at least one more provider batch and its wait). */
export const MAX_RETRY_ROUNDS = 10;

/** What of a result line the rule reads (the shape of `ResultLine`, kept structural so workflow code may import it). */
export interface RetryableLine {
  response: { status_code: number; body?: unknown } | null;
  error: { code: string } | null;
}

function bodyError(body: unknown): { code?: unknown; type?: unknown } | null {
  if (typeof body !== 'object' || body === null) return null;
  const error = (body as { error?: unknown }).error;
  return typeof error === 'object' && error !== null ? (error as { code?: unknown; type?: unknown }) : null;
}

function isFailure(line: RetryableLine): boolean {
  const status = line.response?.status_code ?? 0;
  return line.error != null || status < 200 || status >= 300;
}

/** Whether a result line is a failure that one of `codes` asks to resubmit. */
export function isRetryable(line: RetryableLine, codes: readonly string[]): boolean {
  if (!isFailure(line)) return false;
  const names: string[] = [];
  if (line.error?.code) names.push(line.error.code);
  const inBody = bodyError(line.response?.body);
  if (typeof inBody?.code === 'string') names.push(inBody.code);
  if (typeof inBody?.type === 'string') names.push(inBody.type);
  if (names.some((n) => NEVER_RETRIED.includes(n))) return false;
  const status = line.response?.status_code ?? null;
  return codes.some((code) => {
    if (/^\d{3}$/.test(code)) return status === Number(code);
    const family = /^([1-5])xx$/i.exec(code);
    if (family) return status !== null && Math.floor(status / 100) === Number(family[1]);
    if (code === 'timeout') return status === 408 || status === 504 || names.some((n) => n.toLowerCase().includes('timeout'));
    return names.includes(code);
  });
}

/** Why `code` cannot be a retry code, or null when it can. */
export function retryCodeProblem(code: unknown): string | null {
  if (typeof code !== 'string' || code.trim() === '') return `a retry code must be a non-empty string (got ${JSON.stringify(code)})`;
  if (NEVER_RETRIED.includes(code)) return `${code} is never retried (a cancelled batch stops)`;
  if (/^\d+$/.test(code) && !/^[45]\d\d$/.test(code)) return `${code} is not an HTTP error status (400..599)`;
  return null;
}
