/**
 * A part that is a byte range of the staged input, never a copy of it. Its plan names it `<input>#bytes=<first>-<last>`
 * (both ends inclusive, as in HTTP's `Range`), so that code which knows nothing of ranges (an older worker, an older
 * workflow version carrying the plan) refuses the part as "not one of the batch's staged objects" instead of taking the
 * whole input for it.
 */
import type { ByteRange } from './types';

const RANGED = /^(.*)#bytes=(\d{1,15})-(\d{1,15})$/s;

/** The plan name of `bytes` bytes of `place` from `start`. */
export function rangedPath(place: string, start: number, bytes: number): string {
  return `${place}#bytes=${start}-${start + bytes - 1}`;
}

/** The input a ranged plan name points into, and the range; null when `path` names a whole object. */
export function parseRangedPath(path: string): { place: string; range: Required<ByteRange> } | null {
  const m = RANGED.exec(path);
  if (!m) return null;
  const start = Number(m[2]);
  const end = Number(m[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return null;
  return { place: m[1], range: { start, end } };
}
