/**
 * `waitForBatch`: follows a batch until it is terminal, polling what its workflow recorded (no worker needed),
 * with progress callbacks, an overall timeout and an AbortSignal.
 */
import { loadBatch } from './api';
import type { AnybatchBatch } from './contract/batch';
import { isTerminal } from './contract/batch';
import { BatchNotFoundError, UsageError, WaitTimeoutError } from './errors';
import { checkClientOptions, checkProvider, durationMs } from './options';
import type { ClientOptions, ProviderName } from './options';

export interface WaitForBatchOptions extends ClientOptions {
  /** Called with the batch on the first poll and whenever its status, counts or `anybatch.retrying` changed. */
  onProgress?: (batch: AnybatchBatch) => void;
  /** Aborting it rejects the wait with the signal's reason (an `AbortError` unless you gave one); the batch goes on. */
  signal?: AbortSignal;
  /** Give up after this long (a duration such as `10m`, or milliseconds): rejects with `WaitTimeoutError`. Default: no limit. */
  timeout?: string | number;
  /** How often the batch is read (a duration or milliseconds; default 1 s). */
  interval?: string | number;
}

const WAIT_OPTION_NAMES = ['onProgress', 'signal', 'timeout', 'interval'] as const satisfies readonly (keyof WaitForBatchOptions)[];
const DEFAULT_INTERVAL_MS = 1000;
const TIMED_OUT = Symbol('timed out');

function progressKey(batch: AnybatchBatch): string {
  return JSON.stringify([batch.status, batch.request_counts ?? null, batch.anybatch.retrying ?? null]);
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Resolves with the batch once it is terminal (`completed`, `failed`, `expired`, `cancelled`: check `status`).
 * `provider` null: the id alone names the batch; otherwise a batch of another provider is `BatchNotFoundError`,
 * as in `retrieveBatch`. Rejects with `BatchNotFoundError` for an unknown id, `WaitTimeoutError` after
 * `timeout`, and the signal's reason when `signal` aborts.
 */
export async function waitForBatch(provider: ProviderName | null, batchId: string, options: WaitForBatchOptions = {}): Promise<AnybatchBatch> {
  if (provider !== null) checkProvider(provider);
  const o = checkClientOptions(options, 'waitForBatch', WAIT_OPTION_NAMES);
  const { onProgress, signal } = o;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new UsageError('onProgress must be a function.');
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.addEventListener !== 'function')) {
    throw new UsageError('signal must be an AbortSignal.');
  }
  const intervalMs = durationMs(o.interval, 'interval', DEFAULT_INTERVAL_MS);
  const timeoutMs = durationMs(o.timeout, 'timeout');
  signal?.throwIfAborted();
  const clientOptions: ClientOptions = { temporal: o.temporal, taskQueue: o.taskQueue };

  let deadline: NodeJS.Timeout | undefined;
  let sleeper: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    if (signal) {
      onAbort = () => reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
    }
    if (timeoutMs !== undefined) deadline = setTimeout(() => reject(TIMED_OUT), timeoutMs);
  });
  interrupted.catch(() => {});

  const read = async (): Promise<AnybatchBatch> => {
    const batch = await loadBatch(batchId, clientOptions);
    if (provider !== null && batch.anybatch.provider !== provider) throw new BatchNotFoundError(batchId, provider);
    return batch;
  };
  let last: AnybatchBatch | null = null;
  let lastKey: string | null = null;
  let pending: Promise<AnybatchBatch> | null = null;
  try {
    for (;;) {
      pending = read();
      pending.catch(() => {});
      const batch = await Promise.race([pending, interrupted]);
      pending = null;
      last = batch;
      const key = progressKey(batch);
      if (key !== lastKey) {
        lastKey = key;
        onProgress?.(batch);
      }
      if (isTerminal(batch.status)) return batch;
      await Promise.race([new Promise((resolve) => (sleeper = setTimeout(resolve, intervalMs))), interrupted]);
    }
  } catch (err) {
    if (err !== TIMED_OUT) throw err;
    // Timed out during the first read: report the batch as that read finds it.
    const seen = last ?? (await Promise.race([pending!, new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(abortReason(signal)), { once: true }))]));
    if (isTerminal(seen.status)) return seen;
    throw new WaitTimeoutError(batchId, timeoutMs!, seen);
  } finally {
    clearTimeout(deadline);
    clearTimeout(sleeper);
    if (signal && onAbort) signal.removeEventListener('abort', onAbort);
  }
}
