import { createHash } from 'node:crypto';

/** Ids up to this length are kept as they are; longer ones as a digest, so each costs a bounded amount of memory. */
const MAX_KEPT_LENGTH = 32;
const DIGEST_BYTES = 16;

/** The custom_ids seen so far and the line each was first seen on: the only per-line state a scan keeps. */
export class CustomIdIndex {
  private readonly kept = new Map<string, number>();
  // A separate map, so a digest can never be mistaken for a short id with the same characters.
  private readonly digested = new Map<string, number>();

  /** Records `id` as seen on `line`; when it was seen before, returns that earlier line instead. */
  claim(id: string, line: number): number | undefined {
    const long = id.length > MAX_KEPT_LENGTH;
    const map = long ? this.digested : this.kept;
    const key = long ? digest(id) : id;
    const first = map.get(key);
    if (first === undefined) map.set(key, line);
    return first;
  }
}

function digest(id: string): string {
  // Half a SHA-256 tells ids apart; latin1 makes it a 16-byte string.
  return createHash('sha256').update(id).digest().toString('latin1', 0, DIGEST_BYTES);
}
