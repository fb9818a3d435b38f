/**
 * Splits a staged input into parts that each fit one provider batch: at most `maxRequests` requests and at most
 * `maxBytes` of what is actually sent (measured by the provider's `sentBytes`, e.g. after translation).
 * Streams, so memory stays flat; deterministic, so a retry writes the same parts.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { PartPlan } from '../workflows/shared';
import { splitLines } from './jsonl';

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

/** Returns the parts; a file that fits in one batch is its own single part (no copy). */
export async function splitInput(stagedPath: string, limits: SplitLimits): Promise<PartPlan[]> {
  if (!limits.sentBytes && limits.requestCount !== undefined && limits.requestCount <= limits.maxRequests) {
    // Sent as is: what is sent is at most the file's size, so a file within both limits needs no pass at all.
    const { size } = await fs.promises.stat(stagedPath);
    if (size <= limits.maxBytes) return [{ index: 0, path: stagedPath, requestCount: limits.requestCount, bytes: size }];
  }
  const cost = limits.sentBytes ?? ((line: Buffer) => line.length + 1);
  const parts: PartPlan[] = [];
  let current: { plan: PartPlan; sent: number; out: fs.WriteStream } | null = null;

  const close = async () => {
    if (!current) return;
    current.out.end();
    await once(current.out, 'finish');
    await fs.promises.rename(current.plan.path + '.tmp', current.plan.path);
    parts.push(current.plan);
    current = null;
  };

  let total = 0;
  try {
    for await (const line of splitLines(fs.createReadStream(stagedPath, { highWaterMark: 1 << 20 }))) {
      if (line.length === 0) continue;
      const sent = cost(line);
      if (current && (current.plan.requestCount + 1 > limits.maxRequests || current.sent + sent > limits.maxBytes)) await close();
      if (!current) {
        const path = partPath(stagedPath, parts.length);
        current = { plan: { index: parts.length, path, requestCount: 0, bytes: 0 }, sent: 0, out: fs.createWriteStream(path + '.tmp') };
      }
      current.plan.requestCount += 1;
      current.plan.bytes += line.length + 1;
      current.sent += sent;
      total += 1;
      if (!current.out.write(Buffer.concat([line, NEWLINE]))) await once(current.out, 'drain');
    }
    await close();
  } catch (err) {
    const open = current as { plan: PartPlan; out: fs.WriteStream } | null;
    if (open) {
      open.out.destroy();
      await finished(open.out).catch(() => undefined);
      await fs.promises.rm(open.plan.path + '.tmp', { force: true });
    }
    throw err;
  }
  if (parts.length === 1) {
    // It fits: the staged file itself is the part.
    await fs.promises.rm(parts[0].path, { force: true });
    // Its size as uploaded (blank lines and CRLFs included), which the idempotent upload lookup compares.
    return [{ index: 0, path: stagedPath, requestCount: total, bytes: (await fs.promises.stat(stagedPath)).size }];
  }
  return parts;
}
