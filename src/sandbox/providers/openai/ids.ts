/** Identifier formats of the OpenAI API, so clients that pattern-match ids keep working. */
import { randomBytes } from 'node:crypto';
import { base62 } from '../../kernel/ids';

/** `file-` followed by 22 base62 characters, like the real API's file ids. */
export function newFileId(): string {
  return `file-${base62(randomBytes(22), 22)}`;
}

export function newBatchId(): string {
  return `batch_${randomBytes(16).toString('hex')}`;
}

export function newRequestId(): string {
  return `req_${randomBytes(16).toString('hex')}`;
}
