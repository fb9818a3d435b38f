/**
 * `ListModelInvocationJobs`, `GET /model-invocation-jobs` (docs/provider-apis-3.md §1): the query parameters as
 * `@aws-sdk/client-bedrock` 3.1178.0 sends them (`ListModelInvocationJobsRequest$`: `submitTimeAfter` and
 * `submitTimeBefore` are httpQuery timestamps, so ISO 8601 strings; `statusEquals`, `nameContains`, `maxResults`,
 * `nextToken`, `sortBy` = `CreationTime`, `sortOrder` = `Ascending` | `Descending`), answered with
 * `{invocationJobSummaries, nextToken}`. The token names the last job of the page, so paging holds while jobs are
 * created or change status.
 */
import { compare } from '../../kernel/pagination';
import { constraintError } from './errors';
import type { BedrockJobStore } from './store';
import { JOB_STATUSES, type JobJson, type JobStatus } from './wire';

const MAX_RESULTS = 1000;

export interface ListQuery {
  after: number | null;
  before: number | null;
  status: JobStatus | null;
  nameContains: string | null;
  maxResults: number;
  nextToken: string | null;
  ascending: boolean;
}

function timestamp(params: URLSearchParams, name: string): number | null {
  const raw = params.get(name);
  if (raw === null) return null;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw constraintError(name, raw, 'be a timestamp in ISO 8601 format');
  return ms;
}

export function parseListQuery(params: URLSearchParams): ListQuery {
  const status = params.get('statusEquals');
  if (status !== null && !(JOB_STATUSES as readonly string[]).includes(status)) {
    throw constraintError('statusEquals', status, `satisfy enum value set: [${JOB_STATUSES.join(', ')}]`);
  }
  const rawMax = params.get('maxResults');
  const maxResults = rawMax === null ? MAX_RESULTS : Number(rawMax);
  if (!/^\d+$/.test(rawMax ?? '0') || maxResults < 1) throw constraintError('maxResults', rawMax, 'have value greater than or equal to 1');
  if (maxResults > MAX_RESULTS) throw constraintError('maxResults', rawMax, `have value less than or equal to ${MAX_RESULTS}`);
  const sortBy = params.get('sortBy');
  if (sortBy !== null && sortBy !== 'CreationTime') throw constraintError('sortBy', sortBy, 'satisfy enum value set: [CreationTime]');
  const sortOrder = params.get('sortOrder');
  if (sortOrder !== null && sortOrder !== 'Ascending' && sortOrder !== 'Descending') {
    throw constraintError('sortOrder', sortOrder, 'satisfy enum value set: [Ascending, Descending]');
  }
  return {
    after: timestamp(params, 'submitTimeAfter'),
    before: timestamp(params, 'submitTimeBefore'),
    status: status as JobStatus | null,
    nameContains: params.get('nameContains'),
    maxResults,
    nextToken: params.get('nextToken'),
    ascending: sortOrder === 'Ascending',
  };
}

const token = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');
const untoken = (value: string): string => Buffer.from(value, 'base64url').toString('utf8');

export async function listJobs(store: BedrockJobStore, query: ListQuery): Promise<{ invocationJobSummaries: JobJson[]; nextToken?: string }> {
  const direction = query.ascending ? 1 : -1;
  let entries = store.book.entries().sort((a, b) => direction * compare(a.key, b.key));
  if (query.nextToken !== null) {
    const key = store.book.keyOf(untoken(query.nextToken));
    if (!key) throw constraintError('nextToken', query.nextToken, 'be a token returned by an earlier ListModelInvocationJobs call');
    entries = entries.filter((e) => direction * compare(e.key, key) > 0);
  }
  const page: JobJson[] = [];
  let lastId: string | null = null;
  let more = false;
  for (const { value: job } of entries) {
    if (query.after !== null && !(job.createdMs > query.after)) continue;
    if (query.before !== null && !(job.createdMs < query.before)) continue;
    if (query.nameContains !== null && !job.spec.jobName.includes(query.nameContains)) continue;
    const view = await store.settle(job);
    if (query.status !== null && view.status !== query.status) continue;
    if (page.length === query.maxResults) {
      more = true;
      break;
    }
    page.push(store.toJson(job, view));
    lastId = job.id;
  }
  return { invocationJobSummaries: page, ...(more && lastId !== null ? { nextToken: token(lastId) } : {}) };
}
