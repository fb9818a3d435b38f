/**
 * The pure parts of online batches (src/online): token buckets, the checkpoint's chunk keys
 * and done set, and the request runner's scheduling (concurrency cap, re-send bound, retries, 429 pauses,
 * cancel), run against an in-memory sender; and the provider's option checks.
 */
import { UsageError } from '../../src/errors';
import { DoneSet, chunkKey, chunkSeq, chunkSeqOfName } from '../../src/online/checkpoint';
import { MAX_RATE_LIMITED_RETRIES, runRequests, type Attempt, type OnlineRequest, type RunIO, type RunSettings } from '../../src/online/runner';
import { RateLimiter, TokenBucket } from '../../src/online/token-bucket';
import { parseOpenAICompatibleOptions } from '../../src/providers/openai-compatible/options';
import { endpointUrl, onlineTarget } from '../../src/providers/openai-compatible/http';
import type { ChunkLine } from '../../src/online/checkpoint';
import type { ResultLine } from '../../src/providers/types';

describe('token buckets', () => {
  test('refill at the rate, up to a burst, and let a cost above the capacity through once full (in debt)', () => {
    const b = new TokenBucket(600, 0); // 10 a second, capacity 5 (half a second)
    expect(b.capacity).toBe(5);
    expect(b.waitMs(1, 0)).toBe(100);
    expect(b.tryTake(1, 100)).toBe(true);
    expect(b.tryTake(1, 100)).toBe(false);
    expect(b.tryTake(50, 10_000)).toBe(true); // larger than the capacity: taken once full
    expect(b.waitMs(1, 10_000)).toBe(4600); // in debt by 45: 46 tokens to go
  });

  test('a limiter waits for the slower of its buckets and for a pause', () => {
    const l = new RateLimiter({ rpm: 60_000, tpm: 6_000 }, 0); // 1000 req/s, 100 tokens/s
    expect(l.waitMs(10, 1000)).toBe(0);
    expect(l.tryTake(50, 1000)).toBe(true);
    expect(l.waitMs(50, 1000)).toBe(500);
    l.pauseUntil(5000);
    expect(l.waitMs(1, 2000)).toBe(3000);
  });

  test('a rate must be positive', () => {
    expect(() => new TokenBucket(0, 0)).toThrow(RangeError);
  });
});

describe('checkpoint', () => {
  test('chunk keys are numbered under the work prefix and parse back', () => {
    const key = chunkKey('inputs/ab_1.work/0/', 12);
    expect(key).toBe('inputs/ab_1.work/0/online/results-000012.jsonl');
    expect(chunkSeq('inputs/ab_1.work/0/', key)).toBe(12);
    expect(chunkSeq('inputs/ab_1.work/1/', key)).toBeNull();
    expect(chunkSeqOfName('results-000003.jsonl')).toBe(3);
    expect(chunkSeqOfName('results-3.jsonl.tmp')).toBeNull();
  });

  test('the done set marks each index once', () => {
    const d = new DoneSet(20);
    expect(d.add(3)).toBe(true);
    expect(d.add(3)).toBe(false);
    expect(d.add(20)).toBe(false);
    expect(d.has(3)).toBe(true);
    expect(d.has(4)).toBe(false);
    expect(d.done).toBe(1);
  });
});

function line(customId: string, status: number): ResultLine {
  return { id: `r-${customId}`, custom_id: customId, response: { status_code: status, request_id: '', body: {} }, error: null };
}

async function* requests(n: number): AsyncGenerator<OnlineRequest> {
  for (let i = 0; i < n; i++) yield { index: i, customId: `c${i}`, body: {}, tokens: 1 };
}

/** An in-memory server: answers per request from `answer`, tracking what is in flight and what was flushed. */
function harness(answer: (r: OnlineRequest, attempt: number) => Attempt, delayMs = 2) {
  const attempts = new Map<number, number>();
  const chunks: ChunkLine[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let sentNotDurable = 0;
  let maxSentNotDurable = 0;
  const io: RunIO = {
    async send(r) {
      inFlight += 1;
      sentNotDurable += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      maxSentNotDurable = Math.max(maxSentNotDurable, sentNotDurable);
      const n = (attempts.get(r.index) ?? 0) + 1;
      attempts.set(r.index, n);
      await new Promise((res) => setTimeout(res, delayMs));
      inFlight -= 1;
      const a = answer(r, n);
      if (a.kind === 'retry') sentNotDurable -= 1; // a failed attempt has nothing to lose
      return a;
    },
    async flush(lines) {
      await new Promise((res) => setTimeout(res, 5));
      chunks.push(lines);
      sentNotDurable -= lines.length;
    },
    now: () => Date.now(),
    sleep: (ms, signal) =>
      new Promise((res) => {
        const t = setTimeout(res, ms);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          res();
        });
      }),
  };
  return { io, attempts, chunks, stats: () => ({ maxInFlight, maxSentNotDurable }) };
}

const SETTINGS: RunSettings = { concurrency: 4, maxRetries: 2, chunkSize: 10, flushMs: 50, backoffMs: { initial: 5, max: 20 } };

describe('runRequests', () => {
  test('sends each request once within the concurrency cap and the re-send bound, and flushes every result', async () => {
    const h = harness((r) => ({ kind: 'done', line: line(r.customId, 200) }));
    const stats = await runRequests(requests(95), SETTINGS, h.io, new AbortController().signal);
    expect(stats).toMatchObject({ completed: 95, failed: 0, attempts: 95, cancelled: false });
    const flushed = h.chunks.flat().map((l) => l.index).sort((a, b) => a - b);
    expect(flushed).toEqual(Array.from({ length: 95 }, (_, i) => i));
    expect(h.chunks.every((c) => c.length <= SETTINGS.chunkSize)).toBe(true);
    expect(h.stats().maxInFlight).toBeLessThanOrEqual(SETTINGS.concurrency);
    expect(h.stats().maxSentNotDurable).toBeLessThan(SETTINGS.concurrency + SETTINGS.chunkSize);
  });

  test('5xx answers are retried up to maxRetries, then kept as the error line', async () => {
    const h = harness((r, n) => (r.index === 1 || (r.index === 2 && n < 3) ? { kind: 'retry', line: line(r.customId, 500), retryAfterMs: null, rateLimited: false } : { kind: 'done', line: line(r.customId, 200) }));
    const stats = await runRequests(requests(5), SETTINGS, h.io, new AbortController().signal);
    expect(h.attempts.get(1)).toBe(3);
    expect(h.attempts.get(2)).toBe(3);
    expect(stats).toMatchObject({ completed: 4, failed: 1 });
    expect(h.chunks.flat().find((l) => l.index === 1)!.line.response!.status_code).toBe(500);
  });

  test("a 429's retry-after holds every sender, and 429s do not use up maxRetries", async () => {
    let refusedAt = 0;
    const sentAt: number[] = [];
    const h = harness((r, n) => {
      sentAt.push(Date.now());
      if (r.index === 0 && n <= 3) {
        refusedAt = Date.now();
        return { kind: 'retry', line: line(r.customId, 429), retryAfterMs: 60, rateLimited: true };
      }
      return { kind: 'done', line: line(r.customId, 200) };
    }, 1);
    const stats = await runRequests(requests(3), { ...SETTINGS, concurrency: 1 }, h.io, new AbortController().signal);
    expect(h.attempts.get(0)).toBe(4);
    expect(stats).toMatchObject({ completed: 3, rateLimited: 3 });
    expect(sentAt[sentAt.length - 1]! - refusedAt).toBeGreaterThanOrEqual(55);
    expect(MAX_RATE_LIMITED_RETRIES).toBeGreaterThan(SETTINGS.maxRetries);
  });

  test('cancel stops the sending at once; what finished is flushed', async () => {
    const cancel = new AbortController();
    let answered = 0;
    const h = harness((r) => {
      if (++answered === 20) cancel.abort();
      return { kind: 'done', line: line(r.customId, 200) };
    });
    const stats = await runRequests(requests(500), SETTINGS, h.io, cancel.signal);
    expect(stats.cancelled).toBe(true);
    const sent = [...h.attempts.keys()].length;
    expect(sent).toBeLessThanOrEqual(20 + SETTINGS.concurrency);
    expect(h.chunks.flat()).toHaveLength(sent);
  });

  test('a failure of the whole batch (the sender throws) ends the run with it', async () => {
    const h = harness(() => {
      throw new Error('key refused');
    });
    await expect(runRequests(requests(50), SETTINGS, h.io, new AbortController().signal)).rejects.toThrow('key refused');
    expect(h.attempts.size).toBeLessThanOrEqual(SETTINGS.concurrency);
  });
});

describe('openai-compatible options and target', () => {
  test('options are checked with a clear error', () => {
    expect(parseOpenAICompatibleOptions({ rpm: 6000, tpm: 1e6, concurrency: 16, maxRetries: 0 })).toEqual({ rpm: 6000, tpm: 1e6, concurrency: 16, maxRetries: 0 });
    expect(() => parseOpenAICompatibleOptions({ concurrency: 0 })).toThrow(UsageError);
    expect(() => parseOpenAICompatibleOptions({ rpm: 'fast' })).toThrow(/openai-compatible option rpm must be a positive number \(got "fast"\)/);
  });

  test('base URL and key are required, naming the option and the variable', () => {
    expect(() => onlineTarget({ apiKey: 'k' }, {})).toThrow(/apiBase .*OPENAI_COMPATIBLE_BASE_URL/);
    expect(() => onlineTarget({ apiBase: 'http://h/v1' }, {})).toThrow(/apiKey .*OPENAI_COMPATIBLE_API_KEY/);
    expect(() => onlineTarget({ apiBase: 'ftp://h/v1', apiKey: 'k' }, {})).toThrow(/not http/);
    expect(onlineTarget({}, { OPENAI_COMPATIBLE_BASE_URL: 'http://h/v1/', OPENAI_COMPATIBLE_API_KEY: 'k' })).toEqual({ baseURL: 'http://h/v1', apiKey: 'k', headers: {} });
    expect(endpointUrl('http://h/v1', '/v1/chat/completions')).toBe('http://h/v1/chat/completions');
  });
});
