/** Cursor pagination as the OpenAI list endpoints do it: `after` is the id of the last item already seen. */
import { badRequest } from './http';
import type { ListJson } from './wire';

/** Where an object sits in creation order; kept for deleted objects too so their ids stay valid cursors. */
export interface SortKey {
  createdMs: number;
  seq: number;
}

export interface PageRequest {
  order: 'asc' | 'desc';
  after: SortKey | null;
  limit: number;
}

export function compare(a: SortKey, b: SortKey): number {
  return a.createdMs - b.createdMs || a.seq - b.seq;
}

/** The page of `items` that follows the cursor in the requested order. */
export function paginate<T>(items: Array<{ key: SortKey; value: T & { id: string } }>, request: PageRequest): ListJson<T & { id: string }> {
  const sign = request.order === 'asc' ? 1 : -1;
  const after = request.after;
  const sorted = items
    .filter((item) => after === null || sign * compare(item.key, after) > 0)
    .sort((a, b) => sign * compare(a.key, b.key));
  const data = sorted.slice(0, request.limit).map((item) => item.value);
  return {
    object: 'list',
    data,
    first_id: data.length > 0 ? data[0].id : null,
    last_id: data.length > 0 ? data[data.length - 1].id : null,
    has_more: sorted.length > request.limit,
  };
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
