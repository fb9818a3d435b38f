/**
 * Runs a part's requests against an online endpoint: token buckets for RPM and TPM, a concurrency cap, retries
 * (a 429's `retry-after` holds every sender; 5xx and timeouts back off exponentially) up to `maxRetries`, and
 * results flushed in chunks. The I/O (sending, writing a chunk, the clock) is passed in, so the scheduling is
 * tested on its own.
 *
 * Re-send bound: a request is sent only while fewer than `concurrency` are in flight and fewer than `chunkSize`
 * results wait to be flushed, so at any moment at most `concurrency + chunkSize - 1` requests have been sent
 * without their result being durable; a crash re-sends at most those. Cancel (`cancel` aborted) stops sending
 * at once: no new request and no retry goes out; requests already in flight finish and are kept.
 */
import type { ResultLine } from '../providers/types';
import type { ChunkLine } from './checkpoint';
import { isSuccessLine } from './checkpoint';
import { RateLimiter, type RateLimits } from './token-bucket';

export interface OnlineRequest {
  /** Position of the request in its part (0-based): its bit in the checkpoint. */
  index: number;
  customId: string;
  body: Record<string, unknown>;
  /** Estimated tokens, for the TPM bucket. */
  tokens: number;
}

/** What one attempt came to: a final line, or a failure that a retry may cure (its line is kept if none does). */
export type Attempt =
  | { kind: 'done'; line: ResultLine }
  | { kind: 'retry'; line: ResultLine; retryAfterMs: number | null; rateLimited: boolean };

export interface RunSettings extends RateLimits {
  concurrency: number;
  /** Retries of a request that failed (5xx, 408, 409, no answer, a timeout). */
  maxRetries: number;
  /** Results per chunk object. */
  chunkSize: number;
  /** A partial chunk is flushed after this long, so progress shows while requests are slow. */
  flushMs: number;
  /** Backoff of retries without `retry-after`: first wait and cap (ms); each wait is jittered to 50-100%. */
  backoffMs?: { initial: number; max: number };
}

export interface RunIO {
  /** Sends one request (the timeout is the sender's); throws only for a failure of the whole batch (auth). */
  send(request: OnlineRequest): Promise<Attempt>;
  /** Writes one chunk durably (resolves once it is in the store). */
  flush(lines: ChunkLine[]): Promise<void>;
  now(): number;
  /** Waits `ms`, or less when `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface RunStats {
  /** Requests finished in this run, by outcome. */
  completed: number;
  failed: number;
  /** HTTP attempts made (first sends and retries). */
  attempts: number;
  /** Attempts answered 429. */
  rateLimited: number;
  /** Chunks written. */
  chunks: number;
  cancelled: boolean;
}

const DEFAULT_BACKOFF = { initial: 500, max: 30_000 };
/**
 * Retries of a request answered 429, counted apart from `maxRetries`: the server asked us to wait, not failed,
 * and senders resuming together after a pause may be refused again; bounded so a server refusing forever ends.
 */
export const MAX_RATE_LIMITED_RETRIES = 50;

export async function runRequests(requests: AsyncIterable<OnlineRequest>, settings: RunSettings, io: RunIO, cancel: AbortSignal): Promise<RunStats> {
  const stats: RunStats = { completed: 0, failed: 0, attempts: 0, rateLimited: 0, chunks: 0, cancelled: false };
  const limiter = new RateLimiter(settings, io.now());
  const backoff = settings.backoffMs ?? DEFAULT_BACKOFF;
  const concurrency = Math.max(1, settings.concurrency);
  const chunkSize = Math.max(1, settings.chunkSize);
  let buffer: ChunkLine[] = [];
  let flushingLines = 0;
  let flushing: Promise<void> | null = null;
  let fatal: { error: unknown } | null = null;
  let inFlight = 0;

  // One waiter at a time (the sending loop): woken by every change of the counts above.
  let wake: () => void = () => undefined;
  const changed = (): void => {
    const w = wake;
    wake = () => undefined;
    w();
  };
  const nextChange = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  cancel.addEventListener('abort', changed, { once: true });
  const stopped = (): boolean => cancel.aborted || fatal !== null;

  const flush = (): void => {
    if (flushing || buffer.length === 0 || fatal) return;
    const lines = buffer;
    buffer = [];
    flushingLines = lines.length;
    flushing = io.flush(lines).then(
      () => {
        stats.chunks += 1;
        flushingLines = 0;
        flushing = null;
        if (buffer.length >= chunkSize) flush();
        changed();
      },
      (error: unknown) => {
        fatal ??= { error };
        flushing = null;
        changed();
      },
    );
  };
  const timer = setInterval(flush, Math.max(10, settings.flushMs));

  const record = (index: number, line: ResultLine): void => {
    if (isSuccessLine(line)) stats.completed += 1;
    else stats.failed += 1;
    buffer.push({ index, line });
    if (buffer.length >= chunkSize) flush();
  };

  /** Waits for the buckets; false when cancelled (or the batch failed) meanwhile. */
  const acquire = async (tokens: number): Promise<boolean> => {
    for (;;) {
      if (stopped()) return false;
      const now = io.now();
      if (limiter.tryTake(tokens, now)) return true;
      await io.sleep(limiter.waitMs(tokens, now), cancel);
    }
  };

  const run = async (request: OnlineRequest): Promise<void> => {
    let failures = 0;
    let refusals = 0;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 && !(await acquire(request.tokens))) return;
      stats.attempts += 1;
      const result = await io.send(request);
      if (result.kind === 'done') return record(request.index, result.line);
      if (result.rateLimited) {
        stats.rateLimited += 1;
        if (++refusals > MAX_RATE_LIMITED_RETRIES) return record(request.index, result.line);
      } else if (++failures > settings.maxRetries) {
        return record(request.index, result.line);
      }
      const exponent = result.rateLimited ? refusals - 1 : failures - 1;
      const wait = result.retryAfterMs ?? Math.min(backoff.max, backoff.initial * 2 ** exponent) * (0.5 + Math.random() / 2);
      if (result.rateLimited) limiter.pauseUntil(io.now() + wait);
      await io.sleep(wait, cancel);
    }
  };

  try {
    for await (const request of requests) {
      while (!stopped() && (inFlight >= concurrency || buffer.length + flushingLines >= chunkSize)) await nextChange();
      if (!(await acquire(request.tokens))) break;
      inFlight += 1;
      void run(request)
        .catch((error: unknown) => {
          fatal ??= { error };
        })
        .finally(() => {
          inFlight -= 1;
          changed();
        });
    }
    while (inFlight > 0) await nextChange();
    // What finished is kept, also after a cancel.
    while (!fatal && (buffer.length > 0 || flushing)) {
      flush();
      if (flushing) await flushing;
    }
  } finally {
    clearInterval(timer);
    cancel.removeEventListener('abort', changed);
  }
  // Set by callbacks, which the compiler's narrowing does not see.
  const failure = fatal as { error: unknown } | null;
  if (failure) throw failure.error;
  stats.cancelled = cancel.aborted;
  return stats;
}
