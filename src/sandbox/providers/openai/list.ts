/** Cursor pagination as the OpenAI list endpoints do it: `after` is the id of the last item already seen. */
import { compare, type SortKey } from '../../kernel/pagination';
import type { ListJson } from './wire';

export interface PageRequest {
  order: 'asc' | 'desc';
  after: SortKey | null;
  limit: number;
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
