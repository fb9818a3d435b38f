/**
 * `objects.list` over names in lexicographic order, as Cloud Storage pages them
 * (https://cloud.google.com/storage/docs/json_api/v1/objects/list): names under `prefix`; with a `delimiter`,
 * names whose rest (after the prefix) holds it are rolled up into one entry of `prefixes` each (up to and including
 * the delimiter). Objects and prefixes both count toward `maxResults`, and `nextPageToken` names where the next
 * page resumes: here the last entry served, so a page stays right while objects come and go.
 */

export interface ListQuery {
  prefix: string;
  delimiter: string | null;
  /** The token of the previous page (the last entry it served), or null for the first page. */
  pageToken: string | null;
  maxResults: number;
}

export interface ListPage<T> {
  items: T[];
  prefixes: string[];
  nextPageToken: string | null;
}

const encodeToken = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');
const decodeToken = (token: string): string => Buffer.from(token, 'base64url').toString('utf8');

/** The entry a name lists under: itself, or its rolled-up prefix. */
function entryKey(name: string, query: ListQuery): { key: string; rolledUp: boolean } {
  if (query.delimiter === null || query.delimiter === '') return { key: name, rolledUp: false };
  const at = name.indexOf(query.delimiter, query.prefix.length);
  if (at < 0) return { key: name, rolledUp: false };
  return { key: name.slice(0, at + query.delimiter.length), rolledUp: true };
}

/** One page of `objects` (sorted by name, ascending). */
export function listPage<T extends { name: string }>(objects: readonly T[], query: ListQuery): ListPage<T> {
  const after = query.pageToken === null ? null : decodeToken(query.pageToken);
  const items: T[] = [];
  const prefixes: string[] = [];
  let last: string | null = null;
  for (const object of objects) {
    if (!object.name.startsWith(query.prefix)) continue;
    const { key, rolledUp } = entryKey(object.name, query);
    // Names of one rolled-up prefix sort together, so a prefix equal to the last entry is that entry again.
    if ((after !== null && key <= after) || key === last) continue;
    if (items.length + prefixes.length === query.maxResults) return { items, prefixes, nextPageToken: encodeToken(last as string) };
    if (rolledUp) prefixes.push(key);
    else items.push(object);
    last = key;
  }
  return { items, prefixes, nextPageToken: null };
}
