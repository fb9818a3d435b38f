/**
 * listBatches over an in-memory stand-in for Temporal's visibility (count, list, describe; the queries listBatches
 * sends, interpreted here), so the paging can be checked against the plain definition on many random namespaces
 * without a server: newest first by created_at then id, `after` strictly after, provider filter, continued-as-new
 * runs left out, one entry per id (its latest run), batches without the created-at attribute merged in. And the
 * cost: a page reads about the page, not the namespace. test/integration/list.test.ts runs it on a real dev server.
 */
import fc from 'fast-check';
import type { Client } from '@temporalio/client';
import { ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { listBatchPage, listBatches, newestFirst, slackFor, windowStart } from '../../src/batches/list';
import type { AnybatchBatch } from '../../src/contract/batch';
import { BatchNotFoundError } from '../../src/errors';
import type { ProviderName } from '../../src/options';
import { fakeRecord } from '../../bench/list';

interface FakeRun {
  id: string;
  runId: string;
  type: string;
  /** WorkflowExecutionStatus name, as the client spells it. */
  status: 'RUNNING' | 'TERMINATED' | 'COMPLETED' | 'CONTINUED_AS_NEW';
  record: AnybatchBatch | null;
  /** The AnybatchCreatedAt / AnybatchProvider attributes (null: not set). */
  createdAttr: number | null;
  providerAttr: string | null;
  started: number;
}

const VISIBILITY_STATUS: Record<FakeRun['status'], string> = { RUNNING: 'Running', TERMINATED: 'Terminated', COMPLETED: 'Completed', CONTINUED_AS_NEW: 'ContinuedAsNew' };

function quoted(list: string): string[] {
  return [...list.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}

function invalidArgument(message: string): ServiceError {
  const cause = Object.assign(new Error(`3 INVALID_ARGUMENT: ${message}`), { code: 3, details: message, metadata: {} });
  return new ServiceError('Failed to list workflows', { cause });
}

/** Whether `run` matches a query of the forms listBatches sends (anything else fails the test). */
function matches(run: FakeRun, query: string, registered: boolean): boolean {
  return query.split(' AND ').every((clause) => {
    let m: RegExpExecArray | null;
    if (!registered && /Anybatch/.test(clause)) throw invalidArgument(`invalid search attribute: ${/Anybatch\w+/.exec(clause)![0]}`);
    if ((m = /^WorkflowType IN \((.*)\)$/.exec(clause))) return quoted(m[1]!).includes(run.type);
    if ((m = /^ExecutionStatus != '(\w+)'$/.exec(clause))) return VISIBILITY_STATUS[run.status] !== m[1];
    if ((m = /^AnybatchProvider = '(.*)'$/.exec(clause))) return run.providerAttr === quoted(`'${m[1]}'`)[0];
    if ((m = /^AnybatchCreatedAt (>=|<) '(.*)'$/.exec(clause))) {
      if (run.createdAttr === null) return false;
      const t = Date.parse(m[2]!) / 1000;
      return m[1] === '>=' ? run.createdAttr >= t : run.createdAttr < t;
    }
    if ((m = /^AnybatchCreatedAt IS (NOT )?NULL$/.exec(clause))) return (run.createdAttr === null) !== Boolean(m[1]);
    if ((m = /^WorkflowId IN \((.*)\)$/.exec(clause))) return quoted(m[1]!).includes(run.id);
    if ((m = /^RunId NOT IN \((.*)\)$/.exec(clause))) return !quoted(m[1]!).includes(run.runId);
    throw new Error(`the stand-in does not know the clause: ${clause}`);
  });
}

interface Calls {
  listed: number;
  counts: number;
}

function fakeClient(runs: FakeRun[], opts: { registered?: boolean } = {}): { client: Client; calls: Calls } {
  const registered = opts.registered ?? true;
  const calls: Calls = { listed: 0, counts: 0 };
  const info = (r: FakeRun) => ({
    workflowId: r.id,
    runId: r.runId,
    type: r.type,
    status: { name: r.status },
    memo: r.record ? { batch: r.record } : {},
    startTime: new Date(r.started),
    raw: { pendingActivities: [] },
  });
  const workflow = {
    async count(query: string) {
      calls.counts++;
      return { count: runs.filter((r) => matches(r, query, registered)).length, groups: [] };
    },
    list({ query }: { query: string }) {
      // Visibility's own order (open first, then the rest): nothing listBatches may rely on.
      const found = runs.filter((r) => matches(r, query, registered)).sort((a, b) => (a.runId < b.runId ? -1 : 1));
      return (async function* () {
        for (const r of found) {
          calls.listed++;
          yield info(r);
        }
      })();
    },
    getHandle(id: string) {
      return {
        async describe() {
          const latest = runs.filter((r) => r.id === id).sort((a, b) => b.started - a.started)[0];
          if (!latest) throw new WorkflowNotFoundError('not found', id, undefined);
          return info(latest);
        },
      };
    },
  };
  return { client: { workflow } as unknown as Client, calls };
}

const PROVIDERS: ProviderName[] = ['openai', 'anthropic', 'gemini'];

/** The plain definition: each id's latest run, with a memo, not continued-as-new; filtered; newest first. */
function expected(runs: FakeRun[], provider: ProviderName | null, after: AnybatchBatch | null): string[] {
  const latest = new Map<string, FakeRun>();
  for (const r of runs) {
    if (r.status === 'CONTINUED_AS_NEW' || !r.record) continue;
    const known = latest.get(r.id);
    if (!known || r.started > known.started) latest.set(r.id, r);
  }
  return [...latest.values()]
    .map((r) => r.record!)
    .filter((b) => provider === null || b.anybatch.provider === provider)
    .filter((b) => after === null || newestFirst(after, b) < 0)
    .sort(newestFirst)
    .map((b) => b.id);
}

let runSeq = 0;
let clock = 1_000_000;
function run(id: string, provider: ProviderName, createdAt: number, extra: Partial<FakeRun> & { attributes?: boolean } = {}): FakeRun {
  const attributes = extra.attributes ?? true;
  return {
    id,
    runId: `run-${String(++runSeq).padStart(6, '0')}`,
    type: 'batchJob',
    status: 'RUNNING',
    record: fakeRecord({ id, provider, createdAt }),
    createdAttr: attributes ? createdAt : null,
    providerAttr: attributes ? provider : null,
    started: ++clock,
    ...extra,
  };
}

/** A random namespace: batches over a span with ties, some without attributes, reused ids, continued-as-new chains, a non-batch. */
const namespaceArb = fc
  .record({
    seconds: fc.array(fc.record({ at: fc.integer({ min: 1_600_000_000, max: 1_600_200_000 }), n: fc.integer({ min: 1, max: 6 }) }), { minLength: 1, maxLength: 40 }),
    providers: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 240, maxLength: 240 }),
    unplaced: fc.array(fc.integer({ min: 1_600_000_000, max: 1_600_200_000 }), { maxLength: 4 }),
    reused: fc.integer({ min: 0, max: 3 }),
    continued: fc.integer({ min: 0, max: 3 }),
    legacy: fc.integer({ min: 0, max: 3 }),
    terminated: fc.integer({ min: 0, max: 3 }),
    nonBatch: fc.boolean(),
  })
  .map((spec) => {
    const runs: FakeRun[] = [];
    let i = 0;
    const provider = () => PROVIDERS[spec.providers[i++ % spec.providers.length]!]!;
    for (const s of spec.seconds) for (let k = 0; k < s.n; k++) runs.push(run(`ab_${s.at}_${String(i).padStart(4, '0')}${'zyx'[k % 3]}`, provider(), s.at));
    for (const at of spec.unplaced) runs.push(run(`ab_${at}_np${i++}`, provider(), at, { attributes: false }));
    for (let k = 0; k < spec.reused && k < runs.length; k++) {
      // An id deleted and used again: the first run closed, a later one created later (maybe for another provider).
      const old = runs[k]!;
      old.status = 'COMPLETED';
      runs.push(run(old.id, provider(), old.record!.created_at + 1000 + k));
    }
    for (let k = 0; k < spec.continued && k < runs.length; k++) {
      // A continued-as-new chain: the earlier run is left out, the current one (same memo) listed.
      const r = runs[runs.length - 1 - k]!;
      if (r.status !== 'RUNNING') continue;
      runs.push({ ...r, runId: `run-${String(++runSeq).padStart(6, '0')}`, started: ++clock });
      r.status = 'CONTINUED_AS_NEW';
    }
    for (let k = 0; k < spec.legacy && k < runs.length; k++) runs[k * 3 % runs.length]!.type = 'batchWorkflow';
    for (let k = 0; k < spec.terminated && k < runs.length; k++) {
      const r = runs[(k * 7 + 1) % runs.length]!;
      if (r.status === 'RUNNING') r.status = 'TERMINATED';
    }
    if (spec.nonBatch) runs.push({ ...run('ab_not_a_batch', 'openai', spec.seconds[0]!.at), record: null });
    return runs;
  });

async function pageThrough(client: Client, provider: ProviderName | null, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await listBatches(provider, { temporal: { client }, limit, ...(after !== undefined ? { after } : {}) });
    ids.push(...page.map((b) => b.id));
    if (page.length < limit) return ids;
    after = page[page.length - 1]!.id;
  }
  throw new Error('more than 1000 pages');
}

describe('windowStart', () => {
  test('finds a window holding the page and not many more, or the page plus one second', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1_500_000_000, max: 1_700_000_000 }), { minLength: 0, maxLength: 400 }),
        fc.array(fc.integer({ min: 1_699_999_000, max: 1_700_000_000 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 100 }),
        fc.option(fc.integer({ min: 1_500_000_000, max: 1_700_000_100 }), { nil: null }),
        async (spread, recent, need, top) => {
          const times = [...spread, ...recent];
          let calls = 0;
          const countFrom = async (from: number | null) => {
            calls++;
            return times.filter((t) => (from === null || t >= from) && (top === null || t < top)).length;
          };
          const start = await windowStart(countFrom, top, need, 1_700_000_050);
          const total = await countFrom(null);
          if (start === null) {
            expect(total).toBeLessThanOrEqual(need + slackFor(need));
            return;
          }
          if (top !== null) expect(start).toBeLessThan(top);
          const held = await countFrom(start);
          expect(held).toBeGreaterThanOrEqual(need);
          // Few enough, or the next second already holds fewer than the page: the page plus second `start`.
          if (held > need + slackFor(need)) expect(await countFrom(start + 1)).toBeLessThan(need);
          expect(calls - 3).toBeLessThanOrEqual(80); // a logarithmic number of counts
        },
      ),
      { numRuns: 300 },
    );
  });

  test('seconds holding many batches: the window starts at a second that holds the page', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1_699_999_700, max: 1_700_000_000 }), { minLength: 0, maxLength: 400 }),
        fc.integer({ min: 1, max: 100 }),
        fc.option(fc.integer({ min: 1_699_999_700, max: 1_700_000_001 }), { nil: null }),
        async (times, need, top) => {
          const countFrom = async (from: number | null) => times.filter((t) => (from === null || t >= from) && (top === null || t < top)).length;
          const start = await windowStart(countFrom, top, need, 1_700_000_000);
          if (start === null) return void expect(await countFrom(null)).toBeLessThanOrEqual(need + slackFor(need));
          const held = await countFrom(start);
          expect(held).toBeGreaterThanOrEqual(need);
          if (held > need + slackFor(need)) expect(await countFrom(start + 1)).toBeLessThan(need);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('batches dated after now are in the first window', async () => {
    const times = [2_000_000_000, 2_000_000_000, 1_000];
    const countFrom = async (from: number | null) => times.filter((t) => from === null || t >= from).length;
    expect(await windowStart(countFrom, null, 2, 1_700_000_000)).toBeNull(); // 3 <= 2 + slack: everything
  });
});

describe('listBatches over a stand-in visibility', () => {
  test('every batch exactly once, in order, across pages; with a provider filter too', async () => {
    await fc.assert(
      fc.asyncProperty(namespaceArb, fc.integer({ min: 1, max: 12 }), fc.constantFrom<ProviderName | null>(null, ...PROVIDERS), async (runs, limit, provider) => {
        const { client } = fakeClient(runs);
        expect(await pageThrough(client, provider, limit)).toEqual(expected(runs, provider, null));
      }),
      { numRuns: 150 },
    );
  });

  test('`after` means strictly after that batch, from any batch of the list', async () => {
    await fc.assert(
      fc.asyncProperty(namespaceArb, fc.integer({ min: 1, max: 30 }), fc.nat(), fc.constantFrom<ProviderName | null>(null, ...PROVIDERS), async (runs, limit, pick, provider) => {
        const { client } = fakeClient(runs);
        const order = expected(runs, provider, null);
        if (order.length === 0) return;
        const after = order[pick % order.length]!;
        const page = await listBatches(provider, { temporal: { client }, limit, after });
        const position = order.indexOf(after);
        expect(page.map((b) => b.id)).toEqual(order.slice(position + 1, position + 1 + limit));
      }),
      { numRuns: 150 },
    );
  });

  test('a closed workflow reports its batch failed, as retrieveBatch does', async () => {
    const runs = [run('ab_1', 'openai', 1_600_000_000, { status: 'TERMINATED' }), run('ab_2', 'openai', 1_600_000_001)];
    const { client } = fakeClient(runs);
    const page = await listBatches(null, { temporal: { client } });
    expect(page.map((b) => [b.id, b.status])).toEqual([
      ['ab_2', 'validating'],
      ['ab_1', 'failed'],
    ]);
  });

  test('an unknown `after` is BatchNotFoundError, as before', async () => {
    const { client } = fakeClient([run('ab_1', 'openai', 1_600_000_000)]);
    await expect(listBatches(null, { temporal: { client }, after: 'ab_nope' })).rejects.toBeInstanceOf(BatchNotFoundError);
    await expect(listBatches('anthropic', { temporal: { client }, after: 'ab_1' })).rejects.toBeInstanceOf(BatchNotFoundError);
  });

  test('a page reads about the page, whatever the namespace holds', async () => {
    // 6,000 batches over 100 days, some seconds holding 40.
    const runs: FakeRun[] = [];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    while (runs.length < 6000) {
      const at = 1_600_000_000 + Math.floor(random() * 8_640_000);
      const n = random() < 0.02 ? 40 : 1;
      for (let k = 0; k < n; k++) runs.push(run(`ab_${at}_${runs.length}`, PROVIDERS[Math.floor(random() * 3)]!, at));
    }
    const bySecond = new Map<number, number>();
    for (const r of runs) bySecond.set(r.createdAttr!, (bySecond.get(r.createdAttr!) ?? 0) + 1);
    const order = expected(runs, null, null);
    const { client } = fakeClient(runs);
    for (const limit of [1, 20, 100]) {
      for (const position of [null, 10, 2999, 5990]) {
        const after = position === null ? undefined : order[position]!;
        const page = await listBatchPage(null, { temporal: { client }, limit, ...(after ? { after } : {}) });
        const start = position === null ? 0 : position + 1;
        expect(page.data.map((b) => b.id)).toEqual(order.slice(start, start + limit));
        const cursorSecond = after ? bySecond.get(runs.find((r) => r.id === after)!.createdAttr!)! : 0;
        expect(page.stats.fullScan).toBe(false);
        // The window (the page and its slack, or the page plus one second) and the cursor's own second.
        expect(page.stats.listed).toBeLessThanOrEqual(limit + slackFor(limit) + 40 + cursorSecond);
        expect(page.stats.counts).toBeLessThanOrEqual(60);
      }
    }
  });

  test('stats count what reached the server', async () => {
    const runs = Array.from({ length: 500 }, (_, k) => run(`ab_s${String(k).padStart(3, '0')}`, 'openai', 1_600_000_000 + k * 60));
    const { client, calls } = fakeClient(runs);
    const page = await listBatchPage(null, { temporal: { client }, limit: 10 });
    expect(page.stats.listed).toBe(calls.listed);
    expect(page.stats.counts).toBe(calls.counts);
    expect(page.stats.listed).toBeLessThan(40);
  });

  test('a namespace without anybatch search attributes falls back to the full listing, same results', async () => {
    await fc.assert(
      fc.asyncProperty(namespaceArb, fc.integer({ min: 1, max: 12 }), fc.constantFrom<ProviderName | null>(null, ...PROVIDERS), async (runs, limit, provider) => {
        const bare = runs.map((r) => ({ ...r, createdAttr: null, providerAttr: null }));
        const { client } = fakeClient(bare, { registered: false });
        expect(await pageThrough(client, provider, limit)).toEqual(expected(bare, provider, null));
        const page = await listBatchPage(provider, { temporal: { client }, limit });
        expect(page.stats.fullScan).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
