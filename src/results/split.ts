/**
 * Splits a staged input into parts that each fit one provider batch: at most `maxRequests` requests and at most
 * `maxBytes` of what is actually sent (measured by the provider's `sentBytes`, e.g. after translation).
 * Streams, so memory stays flat; deterministic, so a retry writes the same parts (over the earlier ones).
 *
 * `splitInput` works on a local file (parts are files beside it); `splitStaged` on any source and part sink
 * (the worker's blob store: src/storage/remote-files.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PartPlan } from '../contract/spec';
import { syncDir } from '../storage/fsync';
import { readFileChunks, splitLines } from './jsonl';

const NEWLINE = Buffer.from('\n');

export interface SplitLimits {
  maxRequests: number;
  maxBytes: number;
  /**
   * Fewest requests a provider batch may hold (Cerebras, Bedrock). With the request count known, parts are cut to
   * even sizes (at most `maxRequests` each) instead of full parts and a remainder, so no part falls below it.
   */
  minRequests?: number;
  /** Bytes one request line costs at the provider (default: the line and its newline). */
  sentBytes?: (line: Buffer) => number;
  /** The staged file's request count, when known (validation counted it): lets a file that fits skip the read. */
  requestCount?: number;
}

/** What `splitLimits` needs of a provider adapter (its limits, and how it measures a line after translation). */
export interface SplitProvider {
  capabilities: { maxRequestsPerBatch: number; maxBytesPerBatch: number; minRequestsPerBatch?: number };
  sentBytes?(line: Buffer, endpoint: string, options: Record<string, unknown>): number;
}

/**
 * The limits a batch is split by: the provider's, or the caller's lower ones. The one rule the worker's planning and
 * the dry run share, so a dry run plans the parts the worker will.
 */
export function splitLimits(
  adapter: SplitProvider,
  batch: { endpoint: string; providerOptions: Record<string, unknown>; maxRequestsPerPart?: number | null; maxBytesPerPart?: number | null },
): SplitLimits {
  const sentBytes = adapter.sentBytes?.bind(adapter);
  return {
    maxRequests: Math.min(adapter.capabilities.maxRequestsPerBatch, batch.maxRequestsPerPart ?? Infinity),
    maxBytes: Math.min(adapter.capabilities.maxBytesPerBatch, batch.maxBytesPerPart ?? Infinity),
    ...(adapter.capabilities.minRequestsPerBatch !== undefined ? { minRequests: adapter.capabilities.minRequestsPerBatch } : {}),
    sentBytes: sentBytes && ((line) => sentBytes(line, batch.endpoint, batch.providerOptions)),
  };
}

/** The staged input, read as a stream (once to measure, once more to cut when it does not fit). */
export interface SplitSource {
  /** Its size in bytes. */
  size: number;
  /** A fresh read of all its bytes (chunks may be one reused buffer). */
  read(): AsyncIterable<Buffer>;
  /** What a plan names the input by when it is its own single part. */
  path: string;
}

/** One part being written; nothing is visible under its name before `commit`. */
export interface PartOut {
  /** Resolves once the bytes are taken; the caller may reuse `bytes` afterwards. */
  write(bytes: Buffer): Promise<void>;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** Where parts go. */
export interface PartSink {
  /** What the plan names part `index` by. */
  pathOf(index: number): string;
  open(index: number): Promise<PartOut>;
}

export function partPath(stagedPath: string, index: number): string {
  return stagedPath.replace(/\.jsonl$/, '') + `.part-${index}.jsonl`;
}

/** Output is gathered into blocks of this size, so a part is written in large writes, not one per line. */
const BLOCK_BYTES = 1 << 20;

/**
 * With a provider minimum and the request count known, the most requests per part that cuts the same number of parts
 * to even sizes: 250 requests at 100 a part are 84 + 83 + 83, not 100 + 100 + 50, so a minimum of 60 holds. Providers
 * without a minimum keep full parts (their plans, and so running batches' parts, are unchanged).
 */
function evenParts(limits: SplitLimits): SplitLimits {
  const count = limits.requestCount;
  if (limits.minRequests === undefined || count === undefined || count <= limits.maxRequests) return limits;
  const parts = Math.ceil(count / limits.maxRequests);
  return { ...limits, maxRequests: Math.ceil(count / parts) };
}

/** A part as a byte range of the staged input: `bytes` bytes from `start`, holding `requestCount` whole lines. */
export interface PartRange {
  requestCount: number;
  start: number;
  bytes: number;
}

/**
 * The split's one rule, fed a line at a time: a part is closed before the line that would take it past `maxRequests`
 * requests or `maxBytes` sent. Pure (no I/O), so the client can cut parts while it validates and stages the input, and
 * the worker's split (`splitStaged`) cuts the same parts from the staged copy.
 */
export class PartCutter {
  readonly parts: PartRange[] = [];
  private current: PartRange & { sent: number } = { requestCount: 0, start: 0, bytes: 0, sent: 0 };
  private readonly cost: (line: Buffer) => number;

  constructor(private readonly limits: SplitLimits) {
    this.cost = limits.sentBytes ?? ((line) => line.length + 1);
  }

  /** Takes the next non-empty line (without its newline); true when it starts a new part (closing the one before). */
  add(line: Buffer): boolean {
    const sent = this.cost(line);
    const c = this.current;
    let started = c.requestCount === 0 && this.parts.length === 0;
    if (c.requestCount > 0 && (c.requestCount + 1 > this.limits.maxRequests || c.sent + sent > this.limits.maxBytes)) {
      this.parts.push({ requestCount: c.requestCount, start: c.start, bytes: c.bytes });
      this.current = { requestCount: 0, start: c.start + c.bytes, bytes: 0, sent: 0 };
      started = true;
    }
    this.current.requestCount += 1;
    this.current.bytes += line.length + 1;
    this.current.sent += sent;
    return started;
  }

  /** The parts, the last one included (none for an input without requests). */
  finish(): PartRange[] {
    const c = this.current;
    return c.requestCount > 0 ? [...this.parts, { requestCount: c.requestCount, start: c.start, bytes: c.bytes }] : [...this.parts];
  }
}

/** Reads the input once, without writing: whether every request fits one provider batch, and how many there are. */
async function fitsInOne(source: SplitSource, limits: SplitLimits, cost: (line: Buffer) => number): Promise<number | null> {
  let count = 0;
  let sent = 0;
  const lines = splitLines(source.read());
  try {
    for await (const line of lines) {
      if (line.length === 0) continue;
      count += 1;
      sent += cost(line);
      if (count > limits.maxRequests || sent > limits.maxBytes) return null;
    }
  } finally {
    await lines.return(undefined);
  }
  return count;
}

/** A local file as a split source. */
export function fileSource(file: string, size: number): SplitSource {
  return { size, read: () => readFileChunks(file), path: file };
}

/** Parts as files, each written to `<path>.tmp`, fsynced and renamed into place (the folder fsynced). */
export function fileSink(pathOf: (index: number) => string): PartSink {
  return {
    pathOf,
    async open(index) {
      const target = pathOf(index);
      const out = await fs.promises.open(target + '.tmp', 'w');
      return {
        async write(bytes) {
          for (let at = 0; at < bytes.length; ) at += (await out.write(bytes, at, bytes.length - at)).bytesWritten;
        },
        async commit() {
          // A part is the batch's staged data: durable before it gets its name, and its name durable too.
          await out.sync();
          await out.close();
          await fs.promises.rename(target + '.tmp', target);
          await syncDir(path.dirname(target));
        },
        async discard() {
          await out.close().catch(() => undefined);
          await fs.promises.rm(target + '.tmp', { force: true });
        },
      };
    },
  };
}

/** Returns the parts; a file that fits in one batch is its own single part (no copy). */
export async function splitInput(stagedPath: string, limits: SplitLimits, opts: { partPath?: (index: number) => string } = {}): Promise<PartPlan[]> {
  const { size } = await fs.promises.stat(stagedPath);
  return splitStaged(fileSource(stagedPath, size), limits, fileSink(opts.partPath ?? ((i) => partPath(stagedPath, i))));
}

/** Returns the parts of `source`, written to `sink`; an input that fits in one batch is its own single part (no copy). */
export async function splitStaged(source: SplitSource, given: SplitLimits, sink: PartSink): Promise<PartPlan[]> {
  const limits = evenParts(given);
  const cost = limits.sentBytes ?? ((line: Buffer) => line.length + 1);
  const { size } = source;
  // Sent as is, what is sent is at most the file's size: a file within both limits needs no pass at all.
  const knownToFit = !limits.sentBytes && limits.requestCount !== undefined && limits.requestCount <= limits.maxRequests && size <= limits.maxBytes;
  const single = knownToFit ? limits.requestCount! : await fitsInOne(source, limits, cost);
  // It fits: the staged file itself is the part, at its size as uploaded (which the idempotent upload lookup compares).
  if (single !== null) return [{ index: 0, path: source.path, requestCount: single, bytes: size }];

  const parts: PartPlan[] = [];
  const cutter = new PartCutter(limits);
  let current: { plan: PartPlan; out: PartOut } | null = null;
  // One reused block: each write is awaited before the block is filled again, so nothing is allocated per line.
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  let used = 0;

  const flush = async () => {
    if (!current || used === 0) return;
    await current.out.write(block.subarray(0, used));
    used = 0;
  };
  const close = async () => {
    if (!current) return;
    await flush();
    await current.out.commit();
    parts.push(current.plan);
    current = null;
  };

  const lines = splitLines(source.read());
  try {
    for await (const line of lines) {
      if (line.length === 0) continue;
      if (cutter.add(line)) {
        await close();
        const index = parts.length;
        current = { plan: { index, path: sink.pathOf(index), requestCount: 0, bytes: 0 }, out: await sink.open(index) };
      }
      const part = current as unknown as { plan: PartPlan; out: PartOut };
      part.plan.requestCount += 1;
      part.plan.bytes += line.length + 1;
      if (used + line.length + 1 > BLOCK_BYTES) await flush();
      if (line.length + 1 > BLOCK_BYTES) {
        // A request larger than a block is written on its own.
        await part.out.write(Buffer.concat([line, NEWLINE]));
        continue;
      }
      line.copy(block, used);
      used += line.length;
      block[used++] = 10;
    }
    await close();
  } catch (err) {
    const open = current as { out: PartOut } | null;
    if (open) await open.out.discard();
    throw err;
  } finally {
    await lines.return(undefined);
  }
  return parts;
}
