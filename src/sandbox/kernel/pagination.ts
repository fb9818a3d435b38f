/** What list endpoints share: creation order (sort keys that outlive their objects) and the `limit` parameter. */
import { badRequest } from './http';

/** Where an object sits in creation order; kept for deleted objects too so their ids stay valid cursors. */
export interface SortKey {
  createdMs: number;
  seq: number;
}

export function compare(a: SortKey, b: SortKey): number {
  return a.createdMs - b.createdMs || a.seq - b.seq;
}

/** Parses `limit` from a query string: an integer within [1, max], `fallback` when absent. */
export function parseLimit(raw: string | null, fallback: number, max: number): number {
  if (raw === null) return fallback;
  const limit = Number(raw);
  if (!/^\d+$/.test(raw) || limit < 1 || limit > max) {
    throw badRequest(`Invalid 'limit': expected an integer between 1 and ${max}, got '${raw}'.`, 'limit', 'invalid_value');
  }
  return limit;
}
