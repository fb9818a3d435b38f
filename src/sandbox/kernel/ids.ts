/** Id building blocks every provider's formats are made of: random or stable, hex or base62. */
import { createHash } from 'node:crypto';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` base62 characters drawn from `bytes` (cycled when shorter). */
export function base62(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[bytes[i % bytes.length] % BASE62.length];
  return out;
}

/** A stable hex digest of the parts: per-request ids must be the same on every read of a batch. */
export function stableHex(...parts: Array<string | number>): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}
