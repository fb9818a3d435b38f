/**
 * The durable progress of an online batch: results are flushed to the store in numbered chunk objects
 * (`<work prefix>online/results-000000.jsonl`, `-000001`, ...: deterministic keys, each written once with a
 * conditional create), each line `{"index": <request index in the part>, "line": <OpenAI result line>}`. The
 * chunks are the checkpoint: a resumed run lists them, marks their indices done and sends only the rest. Pure.
 */
import type { ResultLine } from '../contract/batch';

export const CHUNK_DIR = 'online/';
const CHUNK_PREFIX = 'results-';
const CHUNK_SUFFIX = '.jsonl';

/** The key of chunk `seq` under a part's work prefix (`inputs/<batch>/<run>/work/<i>/`, see src/storage/layout.ts). */
export function chunkKey(workPrefix: string, seq: number): string {
  return `${workPrefix}${CHUNK_DIR}${CHUNK_PREFIX}${String(seq).padStart(6, '0')}${CHUNK_SUFFIX}`;
}

/** The sequence number of a chunk key, or null for any other key. */
export function chunkSeq(workPrefix: string, key: string): number | null {
  return key.startsWith(workPrefix + CHUNK_DIR) ? chunkSeqOfName(key.slice(workPrefix.length + CHUNK_DIR.length)) : null;
}

/** The sequence number of a chunk file's name (`results-000003.jsonl`), or null. */
export function chunkSeqOfName(name: string): number | null {
  if (!name.startsWith(CHUNK_PREFIX) || !name.endsWith(CHUNK_SUFFIX)) return null;
  const digits = name.slice(CHUNK_PREFIX.length, -CHUNK_SUFFIX.length);
  return /^\d{6,}$/.test(digits) ? Number(digits) : null;
}

export interface ChunkLine {
  index: number;
  line: ResultLine;
}

/** One chunk line, as written. */
export function encodeChunkLine(index: number, line: ResultLine): string {
  return JSON.stringify({ index, line } satisfies ChunkLine) + '\n';
}

/** Which request indices of a part are done: one bit each (flat memory: 50,000 requests take 6 KB). */
export class DoneSet {
  private readonly bits: Uint8Array;
  private count = 0;

  constructor(readonly size: number) {
    this.bits = new Uint8Array(Math.ceil(size / 8));
  }

  has(index: number): boolean {
    return (this.bits[index >> 3]! & (1 << (index & 7))) !== 0;
  }

  /** Marks `index` done; false when it already was (or is out of range). */
  add(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.size || this.has(index)) return false;
    this.bits[index >> 3]! |= 1 << (index & 7);
    this.count += 1;
    return true;
  }

  get done(): number {
    return this.count;
  }
}

/** Request counts as OpenAI reports them. */
export interface OnlineCounts {
  total: number;
  completed: number;
  failed: number;
}

/** A result line is a success when it has a 2xx response and no error (as the results writer decides). */
export function isSuccessLine(line: ResultLine): boolean {
  const status = line.response?.status_code ?? 0;
  return line.error == null && status >= 200 && status < 300;
}
