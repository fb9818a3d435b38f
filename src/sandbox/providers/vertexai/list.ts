/**
 * `GET .../batchPredictionJobs?pageSize&pageToken&filter`: the jobs of one project and location, newest first,
 * `{batchPredictionJobs, nextPageToken}` (empty fields left out, so no jobs is `{}`). The filter takes the subset
 * of Vertex's list filter syntax (https://google.aip.dev/160) that names job fields: `state`, `display_name` and
 * `labels.<key>`, each `=` or `!=` a value (quoted or not), joined by `AND`; anything else is refused.
 */
import { vertexError } from './errors';
import type { JobState } from './lifecycle';

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

export interface Listable {
  id: string;
  displayName: string;
  labels: Record<string, string>;
}

interface Clause {
  field: string;
  negate: boolean;
  value: string;
}

export type JobFilter = (job: Listable, state: JobState) => boolean;

function parseClause(text: string): Clause {
  const match = /^\s*(state|display_name|labels\.[A-Za-z0-9_-]+)\s*(!=|=)\s*(?:"([^"]*)"|([^\s"]+))\s*$/.exec(text);
  if (!match) throw vertexError(400, `Unsupported filter: ${text.trim()}. The sandbox filters on state, display_name and labels.<key> with = or !=.`);
  return { field: match[1], negate: match[2] === '!=', value: match[3] ?? match[4] };
}

export function parseFilter(raw: string | null): JobFilter {
  if (raw === null || raw.trim() === '') return () => true;
  const clauses = raw.split(/\s+AND\s+/).map(parseClause);
  return (job, state) =>
    clauses.every(({ field, negate, value }) => {
      const actual = field === 'state' ? state : field === 'display_name' ? job.displayName : job.labels[field.slice('labels.'.length)];
      return (actual === value) !== negate;
    });
}

export function parsePageSize(raw: string | null): number {
  if (raw === null) return DEFAULT_PAGE;
  const size = Number(raw);
  if (!/^\d+$/.test(raw)) throw vertexError(400, `Invalid value for page_size: ${raw}`);
  return size === 0 ? DEFAULT_PAGE : Math.min(size, MAX_PAGE);
}

const encodeToken = (id: string): string => Buffer.from(`after:${id}`, 'utf8').toString('base64url');

/** The id the previous page ended with. */
export function decodePageToken(raw: string | null): string | null {
  if (raw === null || raw === '') return null;
  const match = /^after:(\d+)$/.exec(Buffer.from(raw, 'base64url').toString('utf8'));
  if (!match) throw vertexError(400, 'Invalid page token.');
  return match[1];
}

/** One page of `jobs` (already filtered, newest first) from index `start`; `nextPageToken` when more follow. */
export function pageOf<T extends Listable>(jobs: readonly T[], start: number, size: number): { items: T[]; nextPageToken: string | null } {
  const items = jobs.slice(start, start + size);
  const more = start + size < jobs.length;
  return { items, nextPageToken: more && items.length > 0 ? encodeToken(items[items.length - 1].id) : null };
}
