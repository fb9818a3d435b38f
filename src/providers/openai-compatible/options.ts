/**
 * The provider options of `createBatch('openai-compatible', ...)`: the server's limits and how hard to push it.
 * Checked on the client before anything starts; the online activity reads the same keys on the worker.
 */
import { UsageError } from '../../errors';

export interface OpenAICompatibleOptions {
  /** Requests per minute the server allows (default: no limit but `concurrency`). */
  rpm?: number;
  /** Tokens per minute the server allows, counted as input tokens (src/tokens) + the output cap (default: no limit). */
  tpm?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Retries of a request answered 429, 5xx, 408/409 or not at all, before its error line is kept (default 5). */
  maxRetries?: number;
  /** How long one request may take before it is retried as a timeout, in ms (default 600000). */
  requestTimeoutMs?: number;
}

export const ONLINE_DEFAULTS = { concurrency: 8, maxRetries: 5, requestTimeoutMs: 600_000 } as const;

/** Every option name, once (the record makes the compiler check the list against the type). */
const NAMES: Record<keyof OpenAICompatibleOptions, true> = { rpm: true, tpm: true, concurrency: true, maxRetries: true, requestTimeoutMs: true };
export const OPENAI_COMPATIBLE_OPTION_NAMES = Object.keys(NAMES) as readonly (keyof OpenAICompatibleOptions)[];

function positive(name: string, value: unknown, integer: boolean, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    const what = integer ? (min === 0 ? 'a non-negative integer' : 'a positive integer') : 'a positive number';
    throw new UsageError(`openai-compatible option ${name} must be ${what} (got ${JSON.stringify(value)}).`);
  }
  return value;
}

/** Checks the values of the options present in `options` (names are checked by the caller). */
export function parseOpenAICompatibleOptions(options: Record<string, unknown>): OpenAICompatibleOptions {
  const out: OpenAICompatibleOptions = {};
  if (options.rpm !== undefined) out.rpm = positive('rpm', options.rpm, false, Number.MIN_VALUE);
  if (options.tpm !== undefined) out.tpm = positive('tpm', options.tpm, false, Number.MIN_VALUE);
  if (options.concurrency !== undefined) out.concurrency = positive('concurrency', options.concurrency, true, 1);
  if (options.maxRetries !== undefined) out.maxRetries = positive('maxRetries', options.maxRetries, true, 0);
  if (options.requestTimeoutMs !== undefined) out.requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs, true, 1);
  return out;
}
