/**
 * Splits a staged input into parts that each fit one provider batch: at most `maxRequests` requests and at most
 * `maxBytes` of what is actually sent (measured by the provider's `sentBytes`, e.g. after translation).
 * Streams, so memory stays flat; deterministic, so a retry writes the same parts.
 */
import fs from 'node:fs';
import type { PartPlan } from '../workflows/shared';
import { readFileChunks, splitLines } from './jsonl';

const NEWLINE = Buffer.from('\n');

export interface SplitLimits {
  maxRequests: number;
  maxBytes: number;
  /** Bytes one request line costs at the provider (default: the line and its newline). */
  sentBytes?: (line: Buffer) => number;
  /** The staged file's request count, when known (validation counted it): lets a file that fits skip the read. */
  requestCount?: number;
}

export function partPath(stagedPath: string, index: number): string {
  return stagedPath.replace(/\.jsonl$/, '') + `.part-${index}.jsonl`;
}

/** Output is gathered into blocks of this size, so a part is written in large writes, not one per line. */
const BLOCK_BYTES = 1 << 20;

/** Reads the staged file once, without writing: whether every request fits one provider batch, and how many there are. */
async function fitsInOne(stagedPath: string, limits: SplitLimits, cost: (line: Buffer) => number): Promise<number | null> {
  let count = 0;
  let sent = 0;
  for await (const line of splitLines(readFileChunks(stagedPath))) {
    if (line.length === 0) continue;
    count += 1;
    sent += cost(line);
    if (count > limits.maxRequests || sent > limits.maxBytes) return null;
  }
  return count;
}

/** Returns the parts; a file that fits in one batch is its own single part (no copy). */
export async function splitInput(stagedPath: string, limits: SplitLimits): Promise<PartPlan[]> {
  const cost = limits.sentBytes ?? ((line: Buffer) => line.length + 1);
  const { size } = await fs.promises.stat(stagedPath);
  // Sent as is, what is sent is at most the file's size: a file within both limits needs no pass at all.
  const knownToFit = !limits.sentBytes && limits.requestCount !== undefined && limits.requestCount <= limits.maxRequests && size <= limits.maxBytes;
  const single = knownToFit ? limits.requestCount! : await fitsInOne(stagedPath, limits, cost);
  // It fits: the staged file itself is the part, at its size as uploaded (which the idempotent upload lookup compares).
  if (single !== null) return [{ index: 0, path: stagedPath, requestCount: single, bytes: size }];

  const parts: PartPlan[] = [];
  let current: { plan: PartPlan; sent: number; out: fs.promises.FileHandle } | null = null;
  // One reused block: each write is awaited before the block is filled again, so nothing is allocated per line.
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  let used = 0;

  const write = async (bytes: Buffer) => {
    for (let at = 0; at < bytes.length; ) at += (await current!.out.write(bytes, at, bytes.length - at)).bytesWritten;
  };
  const flush = async () => {
    if (!current || used === 0) return;
    await write(block.subarray(0, used));
    used = 0;
  };
  const close = async () => {
    if (!current) return;
    await flush();
    await current.out.close();
    await fs.promises.rename(current.plan.path + '.tmp', current.plan.path);
    parts.push(current.plan);
    current = null;
  };

  try {
    for await (const line of splitLines(readFileChunks(stagedPath))) {
      if (line.length === 0) continue;
      const sent = cost(line);
      if (current && (current.plan.requestCount + 1 > limits.maxRequests || current.sent + sent > limits.maxBytes)) await close();
      if (!current) {
        const path = partPath(stagedPath, parts.length);
        current = { plan: { index: parts.length, path, requestCount: 0, bytes: 0 }, sent: 0, out: await fs.promises.open(path + '.tmp', 'w') };
      }
      current.plan.requestCount += 1;
      current.plan.bytes += line.length + 1;
      current.sent += sent;
      if (used + line.length + 1 > BLOCK_BYTES) await flush();
      if (line.length + 1 > BLOCK_BYTES) {
        // A request larger than a block is written on its own.
        await write(Buffer.concat([line, NEWLINE]));
        continue;
      }
      line.copy(block, used);
      used += line.length;
      block[used++] = 10;
    }
    await close();
  } catch (err) {
    const open = current as { plan: PartPlan; out: fs.promises.FileHandle } | null;
    if (open) {
      await open.out.close().catch(() => undefined);
      await fs.promises.rm(open.plan.path + '.tmp', { force: true });
    }
    throw err;
  }
  return parts;
}
