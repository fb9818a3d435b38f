/** Byte-range checks shared by both stores. */
import { UsageError } from '../errors';
import type { ByteRange } from './types';

export function checkRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw new UsageError(`Invalid byte range: start must be a whole number >= 0 (got ${start}).`);
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new UsageError(`Invalid byte range: end must be a whole number >= start ${start} (got ${end}); both ends are inclusive.`);
  }
}
