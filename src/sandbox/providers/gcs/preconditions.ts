/**
 * Request preconditions (https://cloud.google.com/storage/docs/request-preconditions): the query parameters
 * `ifGenerationMatch`, `ifGenerationNotMatch`, `ifMetagenerationMatch` and `ifMetagenerationNotMatch` of uploads,
 * reads and deletes. `ifGenerationMatch=0` means "no live object of that name", the way a writer makes sure it
 * creates and never overwrites. A condition that does not hold is a 412 `conditionNotMet`, except the `NotMatch`
 * ones of a read, which are a 304 Not Modified (the object is the one the caller already has). Every object here
 * has metageneration 1 (metadata is never patched).
 */
import { ApiError } from '../../kernel/http';
import { gcsError } from './errors';

export interface Preconditions {
  ifGenerationMatch: string | null;
  ifGenerationNotMatch: string | null;
  ifMetagenerationMatch: string | null;
  ifMetagenerationNotMatch: string | null;
}

const NAMES = ['ifGenerationMatch', 'ifGenerationNotMatch', 'ifMetagenerationMatch', 'ifMetagenerationNotMatch'] as const;

/** The preconditions of a request's query; each an int64 in decimal, else a 400. */
export function preconditionsOf(url: URL): Preconditions {
  const out = {} as Record<(typeof NAMES)[number], string | null>;
  for (const name of NAMES) {
    const value = url.searchParams.get(name);
    if (value !== null && !/^-?\d+$/.test(value)) throw gcsError(400, `Invalid argument for ${name}: '${value}' is not an int64.`);
    // A decimal with leading zeros ("007") names generation 7.
    out[name] = value === null ? null : BigInt(value).toString();
  }
  return out;
}

export const NO_PRECONDITIONS: Preconditions = { ifGenerationMatch: null, ifGenerationNotMatch: null, ifMetagenerationMatch: null, ifMetagenerationNotMatch: null };

const METAGENERATION = '1';

function notMet(): ApiError {
  return gcsError(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');
}

/** Refuses a write or delete whose conditions do not hold for `current` (the live generation, or none). */
export function checkWrite(current: { generation: string } | null, p: Preconditions): void {
  const generation = current?.generation ?? '0';
  if (p.ifGenerationMatch !== null && p.ifGenerationMatch !== generation) throw notMet();
  if (p.ifGenerationNotMatch !== null && p.ifGenerationNotMatch === generation) throw notMet();
  // A metageneration condition on a name with no live object cannot hold.
  if (p.ifMetagenerationMatch !== null && (current === null || p.ifMetagenerationMatch !== METAGENERATION)) throw notMet();
  if (p.ifMetagenerationNotMatch !== null && (current === null || p.ifMetagenerationNotMatch === METAGENERATION)) throw notMet();
}

/** For a read of `current`: 'ok', or 'not-modified' (a NotMatch condition names what the caller has); else 412. */
export function checkRead(current: { generation: string }, p: Preconditions): 'ok' | 'not-modified' {
  if (p.ifGenerationMatch !== null && p.ifGenerationMatch !== current.generation) throw notMet();
  if (p.ifMetagenerationMatch !== null && p.ifMetagenerationMatch !== METAGENERATION) throw notMet();
  if (p.ifGenerationNotMatch !== null && p.ifGenerationNotMatch === current.generation) return 'not-modified';
  if (p.ifMetagenerationNotMatch !== null && p.ifMetagenerationNotMatch === METAGENERATION) return 'not-modified';
  return 'ok';
}
