/**
 * Anthropic's list pagination: newest first; `after_id` pages towards older items, `before_id` towards
 * newer ones, and `first_id`/`last_id` are the cursors the SDK sends next.
 */
import { compare, type SortKey } from '../../kernel/pagination';

/** At most one of the two is set. */
export interface PageCursor {
  /** Items older than this one. */
  after: SortKey | null;
  /** Items newer than this one. */
  before: SortKey | null;
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

export function pageNewestFirst<T extends { id: string }>(items: Array<{ key: SortKey; value: T }>, cursor: PageCursor, limit: number): Page<T> {
  const { after, before } = cursor;
  const sorted = items
    .filter((item) => (after === null || compare(item.key, after) < 0) && (before === null || compare(item.key, before) > 0))
    .sort((a, b) => compare(b.key, a.key));
  // Going backwards, the page is the `limit` items just newer than the cursor, still shown newest first.
  const page = before !== null ? sorted.slice(Math.max(0, sorted.length - limit)) : sorted.slice(0, limit);
  const data = page.map((item) => item.value);
  return {
    data,
    has_more: sorted.length > limit,
    first_id: data.length > 0 ? data[0].id : null,
    last_id: data.length > 0 ? data[data.length - 1].id : null,
  };
}
