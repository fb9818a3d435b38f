/**
 * A user's custom_ids are theirs: a provider that limits them (`capabilities.customIds`, from its folder's
 * limits.ts) gets the ones it would refuse remapped, and its results mapped back, by its adapter through a
 * `CustomIdMap` made from that rule. Validation never refuses an id for a provider's rule (src/validation/scan.ts).
 *
 * The mapping (first written for Anthropic, docs/provider-apis.md section 10.4): ids the provider takes are kept;
 * any other becomes `h_` + 40 base32 characters of its sha256 (200 bits, deterministic); a collision with an id
 * already handed out gets a numeric suffix; only the remapped pairs are persisted (kept ids invert to themselves).
 * With a tag (Anthropic's per-part run tag, src/providers/run-nonce.ts `runTag`) every id handed out starts with
 * `<tag>_`, which proves a batch holding it is the part's own.
 */
import { createHash } from 'node:crypto';
import { splitLines } from '../results/jsonl';
import type { CustomIdRule } from './capabilities';
import { partChunks } from './part-input';
import type { ProviderInput } from './types';

export type { CustomIdRule } from './capabilities';

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

/** The deterministic stand-in for an id a provider would refuse: 'h_' + 40 base32 chars (200 bits of sha256). */
export function hashedCustomId(original: string): string {
  return 'h_' + base32(createHash('sha256').update(original, 'utf8').digest()).slice(0, 40);
}

/** Characters as providers count them: code points, not UTF-16 units. */
export function idLength(id: string): number {
  let n = 0;
  for (const _ of id) n++;
  return n;
}

/** The whole-id pattern of a rule's characters (any, when it names none). */
export function customIdPattern(rule: CustomIdRule): RegExp {
  return rule.characters === undefined ? /^[\s\S]+$/u : new RegExp(`^[${rule.characters}]+$`, 'u');
}

/** Whether the provider takes `id` as it is. */
export function fitsRule(id: string, rule: CustomIdRule, pattern = customIdPattern(rule)): boolean {
  return id !== '' && idLength(id) <= rule.maxLength && pattern.test(id);
}

/**
 * At most how many bytes the id sent for `original` takes as JSON text (the splitter's size of a translated line):
 * the original's when the provider takes it (with `prefix` in front), else the longest a remapped id can be.
 */
export function sentIdBytes(original: string, rule: CustomIdRule, prefix = ''): number {
  const kept = prefix + original;
  if (fitsRule(kept, rule)) return Buffer.byteLength(JSON.stringify(kept));
  // Remapped ids are ASCII: `<prefix>h_<hash>`, suffixed within the limit at most.
  return rule.maxLength + 2;
}

/**
 * Deterministic remap of the ids a provider would refuse; toOriginal() inverts. Only remapped pairs are stored for
 * persistence (entries()), so kept ids invert to themselves. A map rebuilt with fromEntries() no longer knows
 * which ids were kept, so finish add()ing in one instance before persisting it.
 *
 * With a `tag` (16 characters of [a-z2-7], the part's `runTag`) every id handed out starts with `<tag>_`: a kept id
 * is `<tag>_<id>` (when that fits the rule), any other `<tag>_h_<hash>`; toOriginal() strips the tag from kept
 * ones, and gives undefined for an id without it.
 */
export class CustomIdMap {
  /** Every id added to this instance (kept ones included), so add() is idempotent. */
  private readonly safeByOriginal = new Map<string, string>();
  /** Remapped pairs only: what toOriginal() needs beyond identity, and what gets persisted. */
  private readonly originalBySafe = new Map<string, string>();
  /** Every provider id handed out, to detect collisions. */
  private readonly used = new Set<string>();
  /** What every id handed out starts with: `<tag>_`, or nothing without a tag. */
  private readonly prefix: string;
  private readonly pattern: RegExp;

  constructor(
    readonly rule: CustomIdRule,
    readonly tag: string | null = null,
    /** What a refused persisted id is called in errors: "an Anthropic custom_id". */
    private readonly what = 'a custom_id the provider takes',
  ) {
    if (tag !== null && !/^[a-z2-7]{8,32}$/.test(tag)) throw new Error(`not a custom_id tag: ${JSON.stringify(tag)}`);
    this.prefix = tag === null ? '' : `${tag}_`;
    this.pattern = customIdPattern(rule);
    // A remapped id must itself be one the provider takes.
    if (!this.fits(`${this.prefix}${hashedCustomId('')}_9`)) throw new Error(`a custom_id rule of ${rule.maxLength} characters${rule.characters ? ` [${rule.characters}]` : ''} cannot hold remapped ids`);
  }

  /** The provider's id for `original` (the same one every time it is asked). */
  add(original: string): string {
    const known = this.safeByOriginal.get(original);
    if (known !== undefined) return known;
    const keep = this.fits(this.prefix + original);
    let safe = this.prefix + (keep ? original : hashedCustomId(original));
    if (this.used.has(safe)) safe = this.withSuffix(safe);
    this.record(original, safe);
    return safe;
  }

  /** The user's id behind a provider id; undefined when `safe` cannot have come from this map. */
  toOriginal(safe: string): string | undefined {
    const original = this.originalBySafe.get(safe);
    if (original !== undefined) return original;
    if (!this.fits(safe) || !safe.startsWith(this.prefix) || safe.length === this.prefix.length) return undefined;
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

  /** Fills a new map (`into`, made with the rule and tag the entries were made with) from persisted entries(). */
  static restore<M extends CustomIdMap>(into: M, entries: Iterable<readonly [string, string]>): M {
    for (const [safe, original] of entries) {
      if (!into.fits(safe)) throw new Error(`not ${into.what}: ${JSON.stringify(safe)}`);
      if (into.used.has(safe)) throw new Error(`custom_id ${JSON.stringify(safe)} is mapped twice`);
      into.record(original, safe);
    }
    return into;
  }

  private fits(id: string): boolean {
    return fitsRule(id, this.rule, this.pattern);
  }

  private record(original: string, safe: string): void {
    this.used.add(safe);
    this.safeByOriginal.set(original, safe);
    if (safe !== this.prefix + original) this.originalBySafe.set(safe, original);
  }

  /** `base_1`, `base_2`, ... cut (by characters) so the result stays within the rule's length. */
  private withSuffix(base: string): string {
    const chars = [...base];
    for (let n = 1; ; n++) {
      const suffix = `_${n}`;
      const candidate = chars.slice(0, this.rule.maxLength - suffix.length).join('') + suffix;
      if (!this.used.has(candidate)) return candidate;
    }
  }
}

/**
 * The custom_ids of a staged part, in line order: for adapters that send their own ids in line order (Bedrock's
 * `R<n>`, Vertex AI's `r<n>`) and map results back by position. Bounded by the part's size (one provider batch).
 */
export async function partCustomIds(input: Pick<ProviderInput, 'path' | 'offset' | 'bytes' | 'read'>): Promise<string[]> {
  const ids: string[] = [];
  for await (const raw of splitLines(partChunks(input))) {
    if (raw.length === 0) continue;
    ids.push((JSON.parse(raw.toString('utf8')) as { custom_id: string }).custom_id);
  }
  return ids;
}
