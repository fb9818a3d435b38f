/** Key validation shared by both stores, so a key valid on one is valid on the other. */
import { InvalidKeyError } from './errors';

/** S3's limit for a whole key (prefix included), in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/**
 * Temp files of the local store start with this; such names are reserved (a key segment cannot start with
 * it) and never listed.
 */
export const TEMP_PREFIX = '.anybatch-tmp-';

// Control characters (C0, DEL) and backslash: never portable between a folder and S3.
// eslint-disable-next-line no-control-regex
const BAD_CHAR = /[\u0000-\u001f\u007f\\]/;

function checkSegments(key: string, segments: string[]): void {
  for (const s of segments) {
    if (s === '') throw new InvalidKeyError(key, 'empty segment (leading, trailing or doubled "/")');
    if (s === '.' || s === '..') throw new InvalidKeyError(key, `"${s}" segment`);
    if (s.startsWith(TEMP_PREFIX)) throw new InvalidKeyError(key, `segments starting with "${TEMP_PREFIX}" are reserved`);
  }
}

function checkChars(key: string): void {
  if (typeof key !== 'string') throw new InvalidKeyError(String(key), 'not a string');
  if (BAD_CHAR.test(key)) throw new InvalidKeyError(key, 'backslash or control character');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes`);
}

/** Throws `InvalidKeyError` unless `key` is a `/`-separated relative name; returns it. */
export function validateKey(key: string): string {
  checkChars(key);
  if (key === '') throw new InvalidKeyError(key, 'empty');
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'leading "/" (keys are relative)');
  checkSegments(key, key.split('/'));
  return key;
}

/** A list prefix: `''`, or a key prefix that may end with `/` (its last segment may be partial). */
export function validatePrefix(prefix: string): string {
  checkChars(prefix);
  if (prefix === '') return prefix;
  if (prefix.startsWith('/')) throw new InvalidKeyError(prefix, 'leading "/" (prefixes are relative)');
  const segments = prefix.split('/');
  const last = segments.pop()!;
  checkSegments(prefix, segments);
  // A partial last segment: "." or ".." would still only match keys like "..x", which are fine.
  if (last.startsWith(TEMP_PREFIX)) throw new InvalidKeyError(prefix, `segments starting with "${TEMP_PREFIX}" are reserved`);
  return prefix;
}

/** The longest batch id (it is a key segment, and a Temporal workflow id). */
export const MAX_BATCH_ID_LENGTH = 200;

/** What a batch id may be, as messages say it. */
export const BATCH_ID_RULE =
  `a batch id is 1 to ${MAX_BATCH_ID_LENGTH} letters, digits, "_", "-" and "." and does not start with "." (so neither "." nor ".."): ` +
  'it names the batch\'s own folder of the store';

const BATCH_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/**
 * Why `id` cannot be a batch id, or null when it can. The one check of batch ids: `createBatch` (a `UsageError`),
 * the worker's staging (a permanent `storage_refused`) and `anybatch delete` all ask it. A batch id is a single safe
 * key segment: no `/`, no `.`/`..`, no leading `.` (hidden files, the store's temp names), nothing a folder and S3
 * would read differently.
 */
export function batchIdProblem(id: unknown): string | null {
  if (typeof id !== 'string') return `batchId must be a string (got ${typeof id})`;
  if (id.length === 0 || id.length > MAX_BATCH_ID_LENGTH || !BATCH_ID.test(id)) return `batchId ${JSON.stringify(id)} is refused: ${BATCH_ID_RULE}`;
  return null;
}
