/** Identifier formats of the Anthropic API (`msgbatch_01…`, `msg_01…`, `toolu_01…`, `req_011…`). */
import { createHash, randomBytes } from 'node:crypto';
import { base62 } from '../../kernel/ids';

export function newMessageBatchId(): string {
  return `msgbatch_01${base62(randomBytes(22), 22)}`;
}

export function newAnthropicRequestId(): string {
  return `req_011${base62(randomBytes(21), 21)}`;
}

/** An id derived from the parts, so every read of a batch's results shows the same ids. */
export function stableAnthropicId(prefix: 'msg' | 'toolu' | 'req', ...parts: Array<string | number>): string {
  const digest = createHash('sha256').update([prefix, ...parts].join('\u0000')).digest();
  return prefix === 'req' ? `req_011${base62(digest, 21)}` : `${prefix}_01${base62(digest, 22)}`;
}
