/**
 * Results in no guaranteed order: a seeded permutation of a file's lines, so consumers must join on
 * custom_id, not position, and the copy that applies it, streamed so memory stays flat.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import { finished } from 'node:stream/promises';
import { mulberry32 } from './faults';
import { openJsonlOutput } from './jsonl';

/** Lines copied per round of the shuffle pass, bounded both in count and in bytes. */
const WINDOW_LINES = 1024;
const WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * Sattolo's algorithm: a uniformly random single cycle, so no request keeps its input position and a batch
 * of two or more never comes back in input order. Seeded (by the batch id), so every read agrees.
 */
export function resultOrder(total: number, seed: string): Uint32Array {
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  const random = mulberry32(createHash('sha256').update(seed).digest().readUInt32LE(0));
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(random() * i);
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  return order;
}

/** Copies the lines of `orderedPath` into `target` in `order`; `offsets[i]` is where line i starts (the last entry: the size). */
export async function copyShuffled(orderedPath: string, target: string, offsets: ArrayLike<number>, order: Uint32Array): Promise<void> {
  const input = await fs.open(orderedPath, 'r');
  const out = openJsonlOutput(target);
  try {
    let next = 0;
    while (next < order.length) {
      const window: number[] = [];
      let bytes = 0;
      while (next < order.length && window.length < WINDOW_LINES && (window.length === 0 || bytes < WINDOW_BYTES)) {
        const index = order[next++];
        window.push(index);
        bytes += offsets[index + 1] - offsets[index];
      }
      const buffer = Buffer.allocUnsafe(bytes);
      let at = 0;
      const reads = window.map((index) => {
        const length = offsets[index + 1] - offsets[index];
        const read = readFully(input, buffer.subarray(at, at + length), offsets[index]);
        at += length;
        return read;
      });
      await Promise.all(reads);
      if (!out.write(buffer)) await once(out, 'drain');
    }
    out.end();
    await finished(out);
  } finally {
    out.destroy();
    await input.close();
  }
}

async function readFully(handle: fs.FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error('Results scratch file ended early.');
    done += bytesRead;
  }
}
