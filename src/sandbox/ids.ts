/** Identifier formats of the OpenAI API, so clients that pattern-match ids keep working. */
import { createHash, randomBytes } from 'node:crypto';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `file-` followed by 22 base62 characters, like the real API's file ids. */
export function newFileId(): string {
  const bytes = randomBytes(22);
  let out = 'file-';
  for (const b of bytes) out += BASE62[b % BASE62.length];
  return out;
}

export function newBatchId(): string {
  return `batch_${randomBytes(16).toString('hex')}`;
}

export function newRequestId(): string {
  return `req_${randomBytes(16).toString('hex')}`;
}

/** A stable hex digest of the parts: per-request ids must be the same on every read of a batch. */
export function stableHex(...parts: Array<string | number>): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}
