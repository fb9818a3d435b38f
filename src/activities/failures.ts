/**
 * How an activity's failure reaches Temporal: every error the worker can meet is classified as permanent
 * (the step fails at once, `nonRetryable`) or transient (retried with backoff), and a transient one that
 * lasts past the step's bound becomes permanent with that error. Messages name the URL, host or path
 * involved and never hold a secret.
 *
 * | error | type | retried |
 * |---|---|---|
 * | provider 5xx, 408, 409, connection reset | `provider_transient` | yes |
 * | provider 429 (honours retry-after) | `provider_rate_limited` | yes |
 * | provider unreachable (refused, timed out) | `provider_unreachable` | yes |
 * | key refused or missing (401) | `provider_auth` | no |
 * | missing permission (403) | `provider_permission` | no |
 * | unknown model or batch (404) | `provider_not_found` | no |
 * | other provider 4xx | `provider_invalid_request` | no |
 * | unknown host, TLS certificate refused | `provider_bad_endpoint` | no |
 * | staged data missing or unreadable (ENOENT, EISDIR, EACCES, ...; a missing object in the store) | `storage_unreadable` | no |
 * | batch staged in another store than this worker's (ANYBATCH_STORAGE differs) | `storage_mismatch` | no |
 * | a spec naming what is not the batch's own: an unsafe batch id, another batch's key, a path outside the store (src/storage/worker-files.ts) | `storage_refused` | no |
 * | store misconfigured, bucket missing, credentials refused or missing | `storage_config`, `storage_bucket_missing`, `storage_access_denied`, `storage_credentials_missing` | no |
 * | store endpoint unreachable, other store errors (5xx, cut-off reads) | `storage_unreachable`, `storage_error` | yes |
 * | disk or store full (ENOSPC, EDQUOT) | `storage_full` | yes |
 * | too many open files, busy (EMFILE, EBUSY, ...) | `storage_busy` | yes |
 * | credentials that cannot be unsealed (key id missing, sealed for another batch) | `bad_credentials` | no |
 * | no apiKey of its own and an apiBase the worker's key may not go to (src/providers/allowed-bases.ts) | `api_base_not_allowed` | no |
 * | anything else | `internal_error` | yes |
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { AnybatchError } from '../errors';
import { ProviderError } from '../providers/types';
import { redact } from '../secrets';
import type { Credentials } from '../secrets';
import type { BatchSpec } from '../contract/spec';

/** How long a failing step before the provider accepted the batch is retried, unless the batch says otherwise. */
export const DEFAULT_RETRY_TIMEOUT_MS = 10 * 60_000;
/** Results exist at the provider once it ended the batch: their download and merge are retried for longer. */
export const RESULTS_RETRY_TIMEOUT_MS = 60 * 60_000;

export function submitRetryTimeoutMs(spec: BatchSpec): number {
  return spec.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS;
}

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);
const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);
const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const BUSY = new Set(['EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN', 'EIO']);

interface SystemError extends Error {
  code: string;
  syscall?: string;
  path?: string;
}

/** Node's system errors (by shape: they may come from another realm, where `instanceof Error` is false). */
function isSystemError(err: unknown): err is SystemError {
  const e = err as Partial<SystemError> | null;
  return typeof e === 'object' && e !== null && typeof e.message === 'string' && typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code);
}

function storageFailure(err: SystemError, place: string | undefined): ApplicationFailure | null {
  const at = err.path ?? place;
  const where = at ? ` ${at}` : '';
  const what = err.message.split(',')[0]; // "ENOENT: no such file or directory"
  if (MISSING.has(err.code) || DENIED.has(err.code)) {
    const hint = MISSING.has(err.code)
      ? ' The staged data is gone, or this worker does not see the ANYBATCH_HOME the client staged it in (they must share it).'
      : ' The worker may not read or write there.';
    return ApplicationFailure.create({ type: 'storage_unreadable', nonRetryable: true, message: `cannot ${err.syscall ?? 'use'}${where}: ${what}.${hint}` });
  }
  if (FULL.has(err.code)) return ApplicationFailure.create({ type: 'storage_full', message: `storage full writing${where}: ${what}` });
  if (BUSY.has(err.code)) return ApplicationFailure.create({ type: 'storage_busy', message: `storage busy at${where}: ${what}` });
  return null;
}

/** Blob store errors (src/storage/errors.ts) and those of a batch's files (src/storage/batch-files.ts), by code. */
const PERMANENT_STORE = new Set(['storage_mismatch', 'storage_refused', 'storage_config', 'storage_bucket_missing', 'storage_access_denied', 'storage_credentials_missing']);
const TRANSIENT_STORE = new Set(['storage_unreachable', 'storage_error']);

function storeFailure(err: AnybatchError, message: string): ApplicationFailure | null {
  if (PERMANENT_STORE.has(err.code)) return ApplicationFailure.create({ message, type: err.code, nonRetryable: true });
  if (TRANSIENT_STORE.has(err.code)) return ApplicationFailure.create({ message, type: err.code });
  if (err.code === 'blob_not_found') {
    return ApplicationFailure.create({
      type: 'storage_unreadable',
      nonRetryable: true,
      message: `${message} The staged data is gone (deleted, or its batch already finished), or this worker does not use the store the client staged it in (ANYBATCH_STORAGE must be the same).`,
    });
  }
  if (err.code === 'invalid_key') return ApplicationFailure.create({ message, type: 'storage_config', nonRetryable: true });
  return null;
}

/**
 * Turns any error into the ApplicationFailure Temporal sees (secrets redacted). `place` names the file or folder
 * the step works on, for system errors that carry no path (a failed write names none).
 */
export function classifyFailure(err: unknown, creds?: Credentials, place?: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const text = typeof (err as Error | null)?.message === 'string' ? (err as Error).message : String(err);
  const message = redact(text, creds);
  if (err instanceof ProviderError) {
    return ApplicationFailure.create({
      message,
      type: `provider_${err.kind}`,
      nonRetryable: !err.retryable,
      nextRetryDelay: err.kind === 'rate_limited' ? err.retryAfterMs ?? undefined : undefined,
    });
  }
  if (err instanceof AnybatchError && err.code === 'bad_credentials') {
    return ApplicationFailure.create({ message, type: 'bad_credentials', nonRetryable: true });
  }
  if (err instanceof AnybatchError) {
    const failure = storeFailure(err, message);
    if (failure) return failure;
  }
  if (isSystemError(err)) {
    const failure = storageFailure(err, place);
    if (failure) return failure;
  }
  return ApplicationFailure.create({ message, type: 'internal_error' });
}

function seconds(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

/**
 * Runs one step of a batch. A transient failure is retried by Temporal until `boundMs` after the step was first
 * scheduled; past that it fails the step for good with the same error.
 */
export async function boundedStep<T>(spec: BatchSpec, step: string, boundMs: number, fn: () => Promise<T>, place?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const failure = classifyFailure(err, undefined, place);
    if (failure.nonRetryable || !Number.isFinite(boundMs)) throw failure;
    const { info } = Context.current();
    const elapsed = Date.now() - info.scheduledTimestampMs;
    if (elapsed < boundMs) throw failure;
    throw ApplicationFailure.create({
      type: failure.type ?? undefined,
      nonRetryable: true,
      message: `${failure.message} (${step} gave up after ${info.attempt} attempt${info.attempt === 1 ? '' : 's'} in ${seconds(elapsed)}, the retry bound of batch ${spec.batchId})`,
    });
  }
}
