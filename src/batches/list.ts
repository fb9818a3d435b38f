/**
 * Listing batches: every batch workflow type, newest first (`created_at` desc, then id desc), paged like OpenAI's
 * list (`after`, `limit`).
 *
 * A page costs work bounded by the page, not by the batches in the namespace's retention. Temporal's SQL visibility
 * (the dev server's SQLite, MySQL, PostgreSQL) refuses `ORDER BY` ("operation is not supported: 'ORDER BY' clause"),
 * and so does Temporal Cloud, so the server cannot hand back the newest N. It can count cheaply
 * (CountWorkflowExecutions) and filter on the `AnybatchCreatedAt` search attribute (whole seconds, set at start by
 * createBatch), so a page is found as a time window:
 * - the server counts batches below the window's top (the cursor's second, or no top), and a few more counts
 *   (widening, then narrowing: see `windowStart`) find the latest second T such that [T, top) holds at least the page;
 *   the window is accepted as soon as it holds the page but not many more (`slackFor`). At worst it holds the page
 *   plus the batches of one second (T's);
 * - only that window is listed, its batches sorted and the page taken. With `after`, the cursor's own second is listed
 *   first (its batches with a lower id come next); ties within a second are ordered by id here, never by the server;
 * - a window that yields fewer batches than counted (a workflow without a batch memo, a run superseded by a newer run
 *   of its id) is followed by the next window down, until the page is full or nothing is left.
 * Batches without the attribute (started with `searchAttributes: false`) cannot be placed in time by the server: they
 * are counted once per page (`AnybatchCreatedAt IS NULL`) and, when there are any, listed in full and merged by their
 * memo's `created_at`, so they cost their own number, not the namespace's. The provider filter is the
 * `AnybatchProvider` attribute, and the memo's provider for those batches.
 * On a namespace where anybatch's search attributes are not registered at all (the server refuses the query:
 * INVALID_ARGUMENT), the page falls back to the old full listing: every batch workflow is read, sorted and sliced
 * (`fullScanPage`; `ListPageStats.fullScan` says so).
 *
 * An id reused after its batch was deleted (src/batches/reuse.ts) has several runs: the id is listed once, as its
 * latest run (the one `retrieveBatch` reads), at that run's `created_at`.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { ServiceError, isGrpcServiceError } from '@temporalio/client';
import type { AnybatchBatch } from '../contract/batch';
import { UsageError } from '../errors';
import { BATCH_CREATED_AT, BATCH_PROVIDER } from '../contract/search-attributes';
import { temporalClient } from '../temporal/client';
import { checkProvider } from '../options';
import type { ClientOptions, ProviderName } from '../options';
import { fromMemo, loadBatch, retrieveBatch, withClosedStatus } from '../batches/read';
import { BATCH_WORKFLOW_TYPES } from '../contract/messages';


export interface ListBatchesOptions extends ClientOptions {
  /** A batch id: list the batches created before it. */
  after?: string;
  /** How many batches (1 to 100, default 20). */
  limit?: number;
}

/** What reading one page cost on the Temporal server. */
export interface ListPageStats {
  /** Workflow executions read from visibility (every List call's results): the page's work. */
  listed: number;
  /** List calls (ListWorkflowExecutions, one per window, however many server pages each took). */
  lists: number;
  /** Count calls (CountWorkflowExecutions). */
  counts: number;
  /** True when the page came from listing every batch (the namespace lacks anybatch's search attributes). */
  fullScan: boolean;
}

export interface BatchPage {
  data: AnybatchBatch[];
  stats: ListPageStats;
}

/** The provider's batches (every provider's with `null`), newest first, paged like OpenAI's list (`after`, `limit`). */
export async function listBatches(provider: ProviderName | null, options: ListBatchesOptions = {}): Promise<AnybatchBatch[]> {
  return (await listBatchPage(provider, options)).data;
}

/** `listBatches`, with what the page cost (for benchmarks, tests and operators watching visibility load). */
export async function listBatchPage(provider: ProviderName | null, options: ListBatchesOptions = {}): Promise<BatchPage> {
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError(`limit must be an integer from 1 to 100 (got ${options.limit}).`);
  if (provider !== null) checkProvider(provider);
  const client = await temporalClient(options.temporal);
  let cursor: AnybatchBatch | null = null;
  if (options.after !== undefined) {
    cursor = provider === null ? await loadBatch(options.after, options) : await retrieveBatch(provider, options.after, options);
  }
  const visibility = new Visibility(client);
  const request: PageRequest = { provider, cursor, limit };
  let data: AnybatchBatch[];
  try {
    data = await windowedPage(visibility, request);
  } catch (err) {
    if (!refusedQuery(err)) throw err;
    // The namespace cannot filter on anybatch's search attributes (not registered): the old full listing.
    data = await fullScanPage(visibility, request);
  }
  return { data, stats: { ...visibility.stats } };
}

interface PageRequest {
  provider: ProviderName | null;
  cursor: AnybatchBatch | null;
  limit: number;
}

/** One run of a batch workflow as visibility lists it. */
interface Run {
  batch: AnybatchBatch;
  runId: string;
  /** The run's start, ms: the latest run of an id is the one `retrieveBatch` reads. */
  started: number;
}

/** Newest first: `created_at` descending, then id descending (ids of one second). */
export function newestFirst(a: AnybatchBatch, b: AnybatchBatch): number {
  return b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function escapeQuery(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

const BASE_QUERY = `WorkflowType IN (${BATCH_WORKFLOW_TYPES.map((t) => `'${t}'`).join(', ')}) AND ExecutionStatus != 'ContinuedAsNew'`;

function providerQuery(provider: ProviderName | null): string {
  return provider === null ? BASE_QUERY : `${BASE_QUERY} AND ${BATCH_PROVIDER.name} = '${escapeQuery(provider)}'`;
}

function at(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** Batches created in [from, to) seconds by the attribute (`null`: unbounded); never those without the attribute. */
function inRange(from: number | null, to: number | null): string {
  if (from === null && to === null) return ` AND ${BATCH_CREATED_AT.name} IS NOT NULL`;
  return (from === null ? '' : ` AND ${BATCH_CREATED_AT.name} >= '${at(from)}'`) + (to === null ? '' : ` AND ${BATCH_CREATED_AT.name} < '${at(to)}'`);
}

/** True for the server refusing a query as invalid (a search attribute it does not know). */
function refusedQuery(err: unknown): boolean {
  const INVALID_ARGUMENT = 3;
  return err instanceof ServiceError && isGrpcServiceError(err.cause) && err.cause.code === INVALID_ARGUMENT;
}

/** The visibility calls a page makes, counted. */
class Visibility {
  readonly stats: ListPageStats = { listed: 0, lists: 0, counts: 0, fullScan: false };

  constructor(private readonly client: Client) {}

  async count(query: string): Promise<number> {
    this.stats.counts++;
    return (await this.client.workflow.count(query)).count;
  }

  /** The runs matching `query` that carry a batch memo (the closed status applied, as `retrieveBatch` does). */
  async list(query: string): Promise<Run[]> {
    this.stats.lists++;
    const runs: Run[] = [];
    for await (const info of this.client.workflow.list({ query })) {
      this.stats.listed++;
      const run = runOf(info);
      if (run) runs.push(run);
    }
    return runs;
  }
}

function runOf(info: WorkflowExecutionInfo): Run | null {
  const batch = fromMemo(info.memo);
  return batch ? { batch: withClosedStatus(batch, info), runId: info.runId, started: info.startTime.getTime() } : null;
}

/** Whether run `a` of an id is newer than run `b`: started later (then created later; then a fixed tie-break). */
function isNewerRun(a: Run, b: Run): boolean {
  if (a.started !== b.started) return a.started > b.started;
  if (a.batch.created_at !== b.batch.created_at) return a.batch.created_at > b.batch.created_at;
  return a.runId > b.runId;
}

/** The latest run of each id among `runs`. */
function latestRuns(runs: Iterable<Run>): Run[] {
  const byId = new Map<string, Run>();
  for (const run of runs) {
    const known = byId.get(run.batch.id);
    if (!known || isNewerRun(run, known)) byId.set(run.batch.id, run);
  }
  return [...byId.values()];
}

function wanted(request: PageRequest, batch: AnybatchBatch): boolean {
  if (request.provider !== null && batch.anybatch.provider !== request.provider) return false;
  return request.cursor === null || newestFirst(request.cursor, batch) < 0;
}

/** The old way, for namespaces without anybatch's search attributes: every batch workflow read, sorted, sliced. */
async function fullScanPage(visibility: Visibility, request: PageRequest): Promise<AnybatchBatch[]> {
  visibility.stats.fullScan = true;
  // No AnybatchProvider filter: the attribute may be what the namespace lacks; the memo says the provider.
  const runs = latestRuns(await visibility.list(BASE_QUERY));
  return runs
    .map((r) => r.batch)
    .filter((b) => wanted(request, b))
    .sort(newestFirst)
    .slice(0, request.limit);
}

/** See the header: the page from time windows the server counts, each listed once. */
async function windowedPage(visibility: Visibility, request: PageRequest): Promise<AnybatchBatch[]> {
  const { cursor, limit } = request;
  const query = providerQuery(request.provider);
  const keep = (runs: Run[]) => runs.filter((r) => wanted(request, r.batch));
  // Batches the server cannot place in time: all of them, merged by their memo's created_at.
  const unplacedQuery = `${BASE_QUERY} AND ${BATCH_CREATED_AT.name} IS NULL`;
  const unplaced = (await visibility.count(unplacedQuery)) > 0 ? keep(await visibility.list(unplacedQuery)) : [];

  const read: Run[] = []; // every run listed from the windows so far (all at or above `top`)
  let top: number | null = null; // the unread range is [.., top); null: nothing read yet
  let exhausted = false; // nothing left below `top`
  if (cursor) {
    // The cursor's own second: its batches with a lower id come next.
    read.push(...keep(await visibility.list(query + inRange(cursor.created_at, cursor.created_at + 1))));
    top = cursor.created_at;
  }
  const superseded = new Set<string>(); // run ids of runs whose id has a newer run
  const verified = new Set<string>(); // run ids known to be their id's latest run
  for (;;) {
    const settled = unplaced.filter((r) => exhausted || (top !== null && r.batch.created_at >= top));
    const candidates = latestRuns([...read, ...settled].filter((r) => !superseded.has(r.runId))).sort((a, b) => newestFirst(a.batch, b.batch));
    if (candidates.length >= limit || exhausted) {
      const page = candidates.slice(0, limit);
      const stale = await staleRuns(visibility, page, verified);
      if (stale.length === 0) return page.map((r) => r.batch);
      for (const runId of stale) superseded.add(runId);
      continue;
    }
    const need = limit - candidates.length;
    const start = await windowStart((from) => visibility.count(query + inRange(from, top)), top, need, Date.now() / 1000);
    if (start !== null && top !== null && start >= top) throw new Error(`listBatches: window start ${start} is not below ${top}`); // never: each window moves down
    read.push(...keep(await visibility.list(query + inRange(start, top))));
    if (start === null) exhausted = true;
    else top = start;
  }
}

/**
 * The runs of `page` that are not their id's latest run (an id reused after its batch was deleted): one list of the
 * page's ids' other runs, which is empty unless an id was reused.
 */
async function staleRuns(visibility: Visibility, page: Run[], verified: Set<string>): Promise<string[]> {
  const check = page.filter((r) => !verified.has(r.runId));
  if (check.length === 0) return [];
  const quoted = (values: string[]) => values.map((v) => `'${escapeQuery(v)}'`).join(', ');
  const others = await visibility.list(`${BASE_QUERY} AND WorkflowId IN (${quoted(check.map((r) => r.batch.id))}) AND RunId NOT IN (${quoted(check.map((r) => r.runId))})`);
  const stale: string[] = [];
  for (const r of check) {
    if (others.some((o) => o.batch.id === r.batch.id && isNewerRun(o, r))) stale.push(r.runId);
    else verified.add(r.runId);
  }
  return stale;
}

/** How many batches past `need` a window may hold before it is narrowed further (more listed vs. more counts). */
export function slackFor(need: number): number {
  return Math.max(need, 20);
}

/** Seconds before 1970 are never a batch's: the widening stops there and takes everything below. */
const FLOOR = 0;
/** The widening's largest step (when the last window held nothing). */
const MAX_GROWTH = 64;

/**
 * The start T (whole seconds) of the window [T, top) to list for a page that still needs `need` batches, or `null` for
 * no lower bound (everything below `top` is few enough). `countFrom(t)` counts the batches in [t, top) (`null`: all
 * below `top`). The window holds at least `need` batches and at most `need + slackFor(need)`, or, when no second
 * gives that, the fewest seconds holding `need`: the page plus the batches of second T.
 *
 * Widening: windows ending at `top` (or `now`) of 1 s, then growing by the factor the last count suggests (2 to 64)
 * until one holds `need`. Narrowing: between the last too-small window and that one, alternately interpolating the
 * second where the count reaches `need` (batches roughly uniform in time) and bisecting (bounded: log2 of the span).
 * Each step is one count: a logarithmic number of them, none of which reads a batch.
 */
export async function windowStart(countFrom: (from: number | null) => Promise<number>, top: number | null, need: number, now: number): Promise<number | null> {
  const slack = slackFor(need);
  const total = await countFrom(null);
  if (total <= need + slack) return null;
  const end = top ?? Math.floor(now) + 1;
  // [hi, top) holds fewer than `need`; [lo, top) holds at least `need`.
  let hi = end;
  let hiCount = 0;
  let lo = FLOOR;
  let loCount = total;
  for (let width = 1; ; ) {
    const from = end - width;
    if (from <= FLOOR) break;
    const count = await countFrom(from);
    if (count >= need) {
      if (count <= need + slack) return from;
      lo = from;
      loCount = count;
      break;
    }
    hi = from;
    hiCount = count;
    width *= count === 0 ? MAX_GROWTH : Math.min(MAX_GROWTH, Math.max(2, Math.ceil((2 * need) / count)));
  }
  let interpolate = true;
  while (hi - lo > 1) {
    let from: number;
    if (interpolate && loCount > hiCount) {
      const target = need + slack / 2;
      from = hi - Math.round(((target - hiCount) / (loCount - hiCount)) * (hi - lo));
      from = Math.min(hi - 1, Math.max(lo + 1, from));
    } else {
      from = Math.floor((lo + hi) / 2);
    }
    interpolate = !interpolate;
    const count = await countFrom(from);
    if (count >= need) {
      if (count <= need + slack) return from;
      lo = from;
      loCount = count;
    } else {
      hi = from;
      hiCount = count;
    }
  }
  // The floor is "everything below": a batch dated before 1970 is listed too.
  return lo === FLOOR ? null : lo;
}
