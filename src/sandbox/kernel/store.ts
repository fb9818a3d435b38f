/**
 * What every provider's batch store (and the file store) is built on: records by id in creation order, read
 * against one clock, and the rule that makes clock-derived state safe to serve: a reading never goes back,
 * and a record found ended is finished (its result files written) exactly once, then latched.
 */
import type { SortKey } from './pagination';

/** Records by id; their sort keys outlive deletion, so a deleted record's id stays a valid list cursor. */
export class RecordBook<R> {
  private readonly records = new Map<string, R>();
  private readonly keys = new Map<string, SortKey>();
  private seq = 0;

  constructor(
    /** The sandbox's clock (ms); every state is derived from it when read. */
    readonly now: () => number,
  ) {}

  /** Registers a record created at `createdMs` and returns its place in creation order. */
  add(id: string, record: R, createdMs: number): SortKey {
    const key = { createdMs, seq: this.seq++ };
    this.records.set(id, record);
    this.keys.set(id, key);
    return key;
  }

  get(id: string): R | undefined {
    return this.records.get(id);
  }

  /** The sort key of a record, deleted or not; undefined for an id never registered. */
  keyOf(id: string): SortKey | undefined {
    return this.keys.get(id);
  }

  delete(id: string): void {
    this.records.delete(id);
  }

  values(): R[] {
    return [...this.records.values()];
  }

  /** Live records with their sort keys, for paging. */
  entries(): Array<{ key: SortKey; value: R }> {
    return [...this.records.entries()].map(([id, value]) => ({ key: this.keys.get(id) as SortKey, value }));
  }
}

/** The clock-derived part of a record: the latest reading served, and the view latched once it ended. */
export interface Latched<V> {
  /** Latest clock reading a served view was derived at. */
  seenMs: number;
  final: V | null;
  finishing: Promise<void> | null;
}

/** A reading never older than one already served (a slow request, a clock set back): returns the reading to use. */
export function advance(record: Latched<unknown>, t: number): number {
  record.seenMs = Math.max(record.seenMs, t);
  return record.seenMs;
}

/**
 * Runs `finish` for the first read that finds the record ended; concurrent reads wait for the same run, and a
 * failed run lets the next read try again.
 */
export async function finishOnce(record: Latched<unknown>, finish: () => Promise<void>): Promise<void> {
  record.finishing ??= finish().catch((err: unknown) => {
    record.finishing = null;
    throw err;
  });
  await record.finishing;
}
