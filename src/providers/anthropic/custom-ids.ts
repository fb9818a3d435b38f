/** OpenAI custom_ids (any string) <-> Anthropic custom_ids (`^[a-zA-Z0-9_-]{1,64}$`), docs/provider-apis.md section 10.4. */
import { createHash } from 'node:crypto';

export const ANTHROPIC_CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_LENGTH = 64;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32, lowercase, no padding. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let value = 0;
  let bits = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xfff; // at most 12 live bits are ever needed
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(value >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The deterministic stand-in for an id Anthropic would reject: 'h_' + 40 base32 chars (200 bits of sha256). */
export function hashedCustomId(original: string): string {
  return 'h_' + base32(createHash('sha256').update(original, 'utf8').digest()).slice(0, 40);
}

/**
 * Deterministic remap: ids that already match are kept; others become 'h_' + base32(sha256(id)).slice(0, 40); a
 * collision with an id already in use (kept or mapped) gets a numeric suffix; toOriginal() inverts.
 * Only remapped pairs are stored for persistence (entries()), so kept ids invert to themselves. A map rebuilt with
 * fromEntries() no longer knows which ids were kept, so finish add()ing in one instance before persisting it.
 *
 * With a `tag` (the part's, src/providers/run-nonce.ts `runTag`: 16 characters of [a-z2-7]) every id the map hands
 * out starts with `<tag>_`: a kept id is `<tag>_<id>` (when that fits in 64 characters), any other
 * `<tag>_h_<hash>`; toOriginal() strips the tag from kept ones, and gives undefined for an id without it. An
 * Anthropic batch holding such an id is therefore provably this part's (see the adapter's header).
 */
export class CustomIdMap {
  /** Every id added to this instance (kept ones included), so add() is idempotent. */
  private readonly safeByOriginal = new Map<string, string>();
  /** Remapped pairs only: what toOriginal() needs beyond identity, and what gets persisted. */
  private readonly originalBySafe = new Map<string, string>();
  /** Every Anthropic id handed out, to detect collisions. */
  private readonly used = new Set<string>();
  /** What every id handed out starts with: `<tag>_`, or nothing without a tag. */
  private readonly prefix: string;

  constructor(readonly tag: string | null = null) {
    if (tag !== null && !/^[a-z2-7]{8,32}$/.test(tag)) throw new Error(`not a custom_id tag: ${JSON.stringify(tag)}`);
    this.prefix = tag === null ? '' : `${tag}_`;
  }

  /** The Anthropic-safe id for `original` (the same one every time it is asked). */
  add(original: string): string {
    const known = this.safeByOriginal.get(original);
    if (known !== undefined) return known;
    const keep = ANTHROPIC_CUSTOM_ID.test(original) && this.prefix.length + original.length <= MAX_LENGTH;
    let safe = this.prefix + (keep ? original : hashedCustomId(original));
    if (this.used.has(safe)) safe = this.withSuffix(safe);
    this.record(original, safe);
    return safe;
  }

  /** The OpenAI id behind an Anthropic id; undefined when `safe` cannot have come from this map. */
  toOriginal(safe: string): string | undefined {
    const original = this.originalBySafe.get(safe);
    if (original !== undefined) return original;
    if (!ANTHROPIC_CUSTOM_ID.test(safe) || !safe.startsWith(this.prefix) || safe.length === this.prefix.length) return undefined;
    return safe.slice(this.prefix.length);
  }

  /** Whether `safe` carries this map's tag (any id does for a map without one). */
  carriesTag(safe: string): boolean {
    return safe.startsWith(this.prefix);
  }

  /** How many ids had to be changed. */
  get remapped(): number {
    return this.originalBySafe.size;
  }

  /** The remapped [safe, original] pairs, the only ones that need persisting. */
  entries(): IterableIterator<[string, string]> {
    return this.originalBySafe.entries();
  }

  /** Rebuilds a map from persisted entries() and the tag it was made with. */
  static fromEntries(entries: Iterable<readonly [string, string]>, tag: string | null = null): CustomIdMap {
    const map = new CustomIdMap(tag);
    for (const [safe, original] of entries) {
      if (!ANTHROPIC_CUSTOM_ID.test(safe)) throw new Error(`not an Anthropic custom_id: ${JSON.stringify(safe)}`);
      if (map.used.has(safe)) throw new Error(`custom_id ${JSON.stringify(safe)} is mapped twice`);
      map.record(original, safe);
    }
    return map;
  }

  private record(original: string, safe: string): void {
    this.used.add(safe);
    this.safeByOriginal.set(original, safe);
    if (safe !== this.prefix + original) this.originalBySafe.set(safe, original);
  }

  /** `base_1`, `base_2`, ... trimmed so the result stays within 64 characters. */
  private withSuffix(base: string): string {
    for (let n = 1; ; n++) {
      const suffix = `_${n}`;
      const candidate = base.slice(0, MAX_LENGTH - suffix.length) + suffix;
      if (!this.used.has(candidate)) return candidate;
    }
  }
}
