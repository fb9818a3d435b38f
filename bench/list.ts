/**
 * Listing batches in a full namespace: a dev server (as the other benches start it) filled with N batch workflows
 * (default 20,000; visibility only: started on a task queue no worker polls, with the memo and search attributes
 * createBatch gives them), then the time of one page of `listBatches` (first page, a page in the middle via `after`,
 * with and without a provider filter) and, measured in the same run, the old way (every batch listed, sorted, sliced).
 * Prints figures; asserts nothing about time. test/integration/list.test.ts uses the helpers exported here.
 *
 *   npm run bench:list            (or: npm run build && node dist/bench/list.js [N])
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { AnybatchBatch } from '../src/contract/batch';
import { BATCH_WORKFLOW_TYPE, BATCH_WORKFLOW_TYPES, MEMO_BATCH } from '../src/contract/messages';
import type { BatchSpec } from '../src/contract/spec';
import { BATCH_CREATED_AT, BATCH_PROVIDER, BATCH_STATUS, BATCH_TOTAL } from '../src/contract/search-attributes';
import { fromMemo, loadBatch, retrieveBatch, withClosedStatus } from '../src/batches/read';
import { listBatchPage } from '../src/batches/list';
import type { ListBatchesOptions } from '../src/batches/list';
import type { ProviderName } from '../src/options';
import { initialJobState, jobView } from '../src/workflows/job/view';
import { startTemporal } from './harness';

/** A batch to start for visibility only. */
export interface FakeBatch {
  id: string;
  provider: ProviderName;
  /** Unix seconds. */
  createdAt: number;
  /** Set the typed search attributes as createBatch does (its `searchAttributes` option; default true). */
  searchAttributes?: boolean;
  /** The workflow type (default the job workflow's). */
  workflowType?: string;
  /** Start it without the batch memo (a workflow of a batch type that is not a batch). */
  noMemo?: boolean;
}

/** A batch id as createBatch makes them (`ab_` + base36 ms + random hex), for a batch created at `createdAt`. */
export function fakeBatchId(createdAt: number, random: () => number = Math.random): string {
  const ms = createdAt * 1000 + Math.floor(random() * 1000);
  return `ab_${ms.toString(36).padStart(9, '0')}${crypto.randomBytes(8).toString('hex')}`;
}

/** The spec createBatch would have made for a small chat-completions batch. */
export function fakeSpec(b: FakeBatch): BatchSpec {
  return {
    batchId: b.id,
    provider: b.provider,
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: { job: 'list-bench' },
    createdAt: b.createdAt,
    input: { path: `file:///tmp/anybatch/inputs/${b.id}/r1/input.jsonl`, requestCount: 100, bytes: 25_000, model: 'gpt-4o-mini' },
    resultsDir: `/tmp/anybatch/results/${b.id}`,
    storage: { uri: 'file:///tmp/anybatch/', inputKey: `inputs/${b.id}/r1/input.jsonl`, resultsPrefix: `results/${b.id}/` },
    pollIntervalMs: 30_000,
    connection: { apiBase: null, sealed: null },
    maxRequestsPerPart: null,
    maxBytesPerPart: null,
    submitConcurrency: 4,
    providerOptions: {},
    searchAttributes: b.searchAttributes ?? true,
    warnings: [],
  };
}

/** The memo record a new batch starts with (what createBatch writes). */
export function fakeRecord(b: FakeBatch): AnybatchBatch {
  return jobView(fakeSpec(b), initialJobState());
}

/**
 * Starts the batch's workflow as createBatch does (id, memo, typed search attributes, its input), on `taskQueue`, which
 * no worker polls: it only exists in visibility. `allowDuplicate` starts a new run of a closed id (a reused id).
 */
export async function startFakeBatch(client: Client, b: FakeBatch, taskQueue: string, opts: { allowDuplicate?: boolean } = {}): Promise<void> {
  const spec = fakeSpec(b);
  const initial = jobView(spec, initialJobState());
  await client.workflow.start(b.workflowType ?? BATCH_WORKFLOW_TYPE, {
    workflowId: b.id,
    workflowIdReusePolicy: opts.allowDuplicate ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.REJECT_DUPLICATE,
    taskQueue,
    args: [{ spec }],
    memo: b.noMemo ? {} : { [MEMO_BATCH]: initial },
    typedSearchAttributes: spec.searchAttributes
      ? [
          { key: BATCH_STATUS, value: initial.status },
          { key: BATCH_PROVIDER, value: b.provider },
          { key: BATCH_TOTAL, value: spec.input.requestCount },
          { key: BATCH_CREATED_AT, value: new Date(b.createdAt * 1000) },
        ]
      : [],
  });
}

/** Starts them all, `concurrency` at a time. */
export async function startFakeBatches(client: Client, batches: readonly FakeBatch[], taskQueue: string, concurrency = 16, onProgress?: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < batches.length) {
      const b = batches[next++]!;
      await startFakeBatch(client, b, taskQueue);
      if (++done % 1000 === 0) onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, lane));
}

/** The batch workflows visibility holds (every run that is not continued-as-new). */
export const BATCH_QUERY = `WorkflowType IN (${BATCH_WORKFLOW_TYPES.map((t) => `'${t}'`).join(', ')}) AND ExecutionStatus != 'ContinuedAsNew'`;

/** Waits until visibility counts `n` batch workflows (it lags the starts a little). */
export async function untilVisible(client: Client, n: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { count } = await client.workflow.count(BATCH_QUERY);
    if (count >= n) return;
    if (Date.now() > deadline) throw new Error(`visibility shows ${count} of ${n} batch workflows after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The listing before issue 21, verbatim but for the client passed in and a count of the executions it read: every
 * batch workflow matching the filter listed, sorted in memory, one page sliced. For comparison only.
 */
export async function oldListBatches(client: Client, provider: ProviderName | null, options: ListBatchesOptions = {}): Promise<{ data: AnybatchBatch[]; listed: number }> {
  const limit = options.limit ?? 20;
  const escapeQuery = (value: string) => value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  let query = `WorkflowType IN (${BATCH_WORKFLOW_TYPES.map((t) => `'${t}'`).join(', ')}) AND ExecutionStatus != 'ContinuedAsNew'`;
  if (provider !== null) query += ` AND ${BATCH_PROVIDER.name} = '${escapeQuery(provider)}'`;
  let cursor: AnybatchBatch | null = null;
  const clientOptions = { temporal: { client } };
  if (options.after !== undefined) {
    cursor = provider === null ? await loadBatch(options.after, clientOptions) : await retrieveBatch(provider, options.after, clientOptions);
    query += ` AND ${BATCH_CREATED_AT.name} <= '${new Date(cursor.created_at * 1000).toISOString()}'`;
  }
  let listed = 0;
  const byId = new Map<string, AnybatchBatch>();
  for await (const info of client.workflow.list({ query })) {
    listed++;
    const batch = fromMemo(info.memo);
    if (batch) byId.set(batch.id, withClosedStatus(batch, info));
  }
  const newestFirst = (a: AnybatchBatch, b: AnybatchBatch) => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  const sorted = [...byId.values()].sort(newestFirst);
  const start = cursor ? sorted.filter((b) => newestFirst(cursor!, b) < 0) : sorted;
  return { data: start.slice(0, limit), listed };
}

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/**
 * `n` batches over the last `days` days: mostly one per second, some seconds with a burst (2 to 50 created in the
 * same second, as a script creating many would), providers 50% openai, 30% anthropic, 20% gemini.
 */
export function fakeFleet(n: number, opts: { seed?: number; days?: number; now?: number } = {}): FakeBatch[] {
  const random = rng(opts.seed ?? 21);
  const now = Math.floor(opts.now ?? Date.now() / 1000);
  const span = Math.round((opts.days ?? 30) * 86_400);
  const out: FakeBatch[] = [];
  while (out.length < n) {
    const second = now - Math.floor(random() * span);
    const burst = random() < 0.03 ? 2 + Math.floor(random() * 49) : 1;
    for (let i = 0; i < burst && out.length < n; i++) {
      const p = random();
      const provider: ProviderName = p < 0.5 ? 'openai' : p < 0.8 ? 'anthropic' : 'gemini';
      out.push({ id: fakeBatchId(second, random), provider, createdAt: second });
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-bench-list-'));
  const temporal = await startTemporal(dir);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  try {
    console.log(`list bench: ${n} batches, Temporal dev server ${temporal.address} (SQLite), node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const fleet = fakeFleet(n);
    const fill = await timed(async () => {
      await startFakeBatches(client, fleet, `list-bench-idle-${crypto.randomBytes(3).toString('hex')}`, 32, (done) => process.stderr.write(`  started ${done}/${n}\r`));
      await untilVisible(client, n);
    });
    process.stderr.write('\n');
    console.log(`filled: ${n} batch workflows started and visible in ${(fill.ms / 1000).toFixed(1)} s (32 at a time)`);

    // The full order, to pick the middle of it (read once, the old way).
    const byOrder = (provider: ProviderName | null) =>
      fleet.filter((b) => provider === null || b.provider === provider).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const options = { temporal: { client } };
    const cases: { name: string; provider: ProviderName | null; after?: string; limit: number }[] = [];
    /** The page the fleet itself says is right (ground truth, from the batches started). */
    const expected = (c: { provider: ProviderName | null; after?: string; limit: number }): string[] => {
      const order = byOrder(c.provider);
      const from = c.after === undefined ? 0 : order.findIndex((b) => b.id === c.after) + 1;
      return order.slice(from, from + c.limit).map((b) => b.id);
    };
    for (const provider of [null, 'anthropic'] as const) {
      const order = byOrder(provider);
      const label = provider ?? 'all providers';
      cases.push({ name: `first page, ${label}`, provider, limit: 20 });
      cases.push({ name: `middle page (after #${Math.floor(order.length / 2)}), ${label}`, provider, after: order[Math.floor(order.length / 2)]!.id, limit: 20 });
    }
    const all = byOrder(null);
    cases.push({ name: 'middle page, all providers, limit 100', provider: null, after: all[Math.floor(all.length / 2)]!.id, limit: 100 });
    cases.push({ name: 'last page (after #' + (all.length - 10) + '), all providers', provider: null, after: all[all.length - 10]!.id, limit: 20 });

    const NEW_RUNS = 7;
    const OLD_RUNS = 3;
    console.log('');
    console.log('| page | new: median ms | new: executions read | new: count calls | old full scan: median ms | old: executions read | new page right | old page right |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const c of cases) {
      const opts = { ...options, limit: c.limit, ...(c.after !== undefined ? { after: c.after } : {}) };
      const newMs: number[] = [];
      let newPage = await listBatchPage(c.provider, opts); // warm-up
      for (let i = 0; i < NEW_RUNS; i++) {
        const r = await timed(() => listBatchPage(c.provider, opts));
        newMs.push(r.ms);
        newPage = r.value;
      }
      const oldMs: number[] = [];
      let oldPage = await oldListBatches(client, c.provider, opts);
      for (let i = 0; i < OLD_RUNS; i++) {
        const r = await timed(() => oldListBatches(client, c.provider, opts));
        oldMs.push(r.ms);
        oldPage = r.value;
      }
      const truth = JSON.stringify(expected(c));
      const right = (page: AnybatchBatch[]) => (JSON.stringify(page.map((b) => b.id)) === truth ? 'yes' : 'NO');
      console.log(
        `| ${c.name} | ${median(newMs).toFixed(1)} | ${newPage.stats.listed} | ${newPage.stats.counts} | ${median(oldMs).toFixed(1)} | ${oldPage.listed} | ${right(newPage.data)} | ${right(oldPage.data)} |`,
      );
    }
    console.log('');
    console.log(`median of ${NEW_RUNS} runs (new) and ${OLD_RUNS} runs (old) after one warm-up each; "executions read" = workflow executions returned by List calls for the page; "right" = the ids the started fleet says the page holds, in order.`);
  } finally {
    await connection.close();
    await temporal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
