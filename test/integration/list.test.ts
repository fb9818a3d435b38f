/**
 * listBatches and `anybatch list` on the run's Temporal dev server (SQLite visibility, which refuses ORDER BY), in a
 * namespace of this suite's own filled with ~250 batch workflows started as createBatch starts them, on a task queue no
 * worker polls (visibility alone): pages give every batch exactly once, newest first (ties in one second by id), with
 * `after` and a provider filter; batches without search attributes, closed workflows, a reused id and a workflow that
 * is not a batch are placed as the definition says; and a page reads about the page, not the namespace. A second
 * namespace without anybatch's search attributes gets the same results from the full listing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { listBatchPage, listBatches, newestFirst, slackFor } from '../../src/batches/list';
import type { AnybatchBatch } from '../../src/contract/batch';
import { BatchNotFoundError } from '../../src/errors';
import { withClosedStatus } from '../../src/batches/read';
import type { ProviderName } from '../../src/options';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { listRow } from '../../src/cli/format';
import { BATCH_QUERY, fakeBatchId, fakeRecord, startFakeBatch, startFakeBatches, untilVisible } from '../../bench/list';
import type { FakeBatch } from '../../bench/list';
import { eventually, temporalAddress } from '../support/env';
import { runCli } from '../support/cli';

const PROVIDERS: ProviderName[] = ['openai', 'anthropic', 'gemini'];
const BASE = 1_700_000_000;
/** The second holding the most batches (more than a page). */
const BIG_SECOND = BASE + 200_000;
const BIG = 25;

let connection: Connection;
let client: Client;
let bare: Client;
let namespace: string;
const idle = `list-idle-${crypto.randomBytes(3).toString('hex')}`;
/** The batches as the definition sees them: each id's latest record. */
const records = new Map<string, AnybatchBatch>();
let unplaced = 0;
const unplacedIds = new Set<string>();
let maxPerSecond = 0;
/** The most batches in one second but the crowded one. */
let maxElsewhere = 0;
let home: string;

function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

async function newNamespace(name: string): Promise<void> {
  await connection.workflowService.registerNamespace({ namespace: name, workflowExecutionRetentionPeriod: msToTs('1 day') });
  const c = new Client({ connection, namespace: name });
  await eventually(async () => (await c.workflow.count("WorkflowType = 'x'")).count === 0, 20_000, 100);
}

function expected(provider: ProviderName | null, after: string | null = null): AnybatchBatch[] {
  const all = [...records.values()].filter((b) => provider === null || b.anybatch.provider === provider).sort(newestFirst);
  return after === null ? all : all.slice(all.findIndex((b) => b.id === after) + 1);
}

const ids = (bs: AnybatchBatch[]) => bs.map((b) => b.id);

beforeAll(async () => {
  connection = await Connection.connect({ address: temporalAddress() });
  namespace = `list-${crypto.randomBytes(4).toString('hex')}`;
  await newNamespace(namespace);
  await ensureSearchAttributes(connection, namespace);
  client = new Client({ connection, namespace });
  await eventually(async () => (await client.workflow.count('AnybatchCreatedAt IS NULL')).count === 0, 20_000, 100);

  const random = rng(21);
  const fleet: FakeBatch[] = [];
  const perSecond = new Map<number, number>();
  const add = (b: FakeBatch) => {
    fleet.push(b);
    if (b.searchAttributes !== false) perSecond.set(b.createdAt, (perSecond.get(b.createdAt) ?? 0) + 1);
  };
  // ~220 batches over 5 days, 1 to 4 per second, every provider; some of the older workflow type.
  while (fleet.length < 220) {
    const at = BASE + Math.floor(random() * 432_000);
    if (at === BIG_SECOND) continue;
    const n = 1 + Math.floor(random() * (random() < 0.2 ? 4 : 1));
    for (let k = 0; k < n; k++) add({ id: fakeBatchId(at, random), provider: PROVIDERS[Math.floor(random() * 3)]!, createdAt: at, ...(random() < 0.01 ? { workflowType: 'batchWorkflow' } : {}) });
  }
  for (let k = 0; k < BIG; k++) add({ id: fakeBatchId(BIG_SECOND, random), provider: PROVIDERS[k % 3]!, createdAt: BIG_SECOND });
  // Started with searchAttributes: false: no AnybatchCreatedAt, no AnybatchProvider.
  for (let k = 0; k < 6; k++) {
    const at = BASE + Math.floor(random() * 432_000);
    const b: FakeBatch = { id: fakeBatchId(at, random), provider: PROVIDERS[k % 3]!, createdAt: at, searchAttributes: false };
    add(b);
    unplacedIds.add(b.id);
  }
  unplaced = unplacedIds.size;
  for (const b of fleet) records.set(b.id, fakeRecord(b));
  // A workflow of the batch type without a batch memo: counted by the server, never listed as a batch.
  const notBatch: FakeBatch = { id: `not-a-batch-${crypto.randomBytes(3).toString('hex')}`, provider: 'openai', createdAt: BIG_SECOND - 1, noMemo: true };
  await startFakeBatches(client, [...fleet, notBatch], idle, 16);

  // Two closed workflows: their batches read "failed".
  for (const b of fleet.slice(10, 12)) {
    await client.workflow.getHandle(b.id).terminate('test');
    records.set(b.id, withClosedStatus(records.get(b.id)!, { status: { name: 'TERMINATED' } } as Parameters<typeof withClosedStatus>[1]));
  }
  // An id reused after its batch was deleted: the first run closed, a later one created days later for another provider.
  const first: FakeBatch = { id: `ab_reused_${crypto.randomBytes(4).toString('hex')}`, provider: 'openai', createdAt: BASE + 1000 };
  await startFakeBatch(client, first, idle);
  await client.workflow.getHandle(first.id).terminate('deleted');
  const second: FakeBatch = { ...first, provider: 'anthropic', createdAt: BASE + 300_000 };
  await startFakeBatch(client, second, idle, { allowDuplicate: true });
  records.set(second.id, fakeRecord(second));
  perSecond.set(first.createdAt, (perSecond.get(first.createdAt) ?? 0) + 1);
  perSecond.set(second.createdAt, (perSecond.get(second.createdAt) ?? 0) + 1);
  maxPerSecond = Math.max(...perSecond.values());
  maxElsewhere = Math.max(...[...perSecond].filter(([at]) => at !== BIG_SECOND).map(([, n]) => n));

  await untilVisible(client, fleet.length + 3);
  await eventually(async () => (await client.workflow.count(`${BATCH_QUERY} AND ExecutionStatus = 'Terminated'`)).count === 3, 20_000, 100);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-list-'));
}, 120_000);

afterAll(async () => {
  await connection?.close();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

/** Pages through with `limit`, checking each page's cost; returns the ids in the order listed. */
async function pageThrough(provider: ProviderName | null, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listBatchPage(provider, { temporal: { client }, limit, ...(after !== undefined ? { after } : {}) });
    expect(page.stats.fullScan).toBe(false);
    // The window (the page and its slack, or the page plus one second), the cursor's second, the batches without
    // the attribute, and the runs of a reused id on the page.
    expect(page.stats.listed).toBeLessThanOrEqual(limit + slackFor(limit) + 2 * maxPerSecond + unplaced + 2);
    seen.push(...ids(page.data));
    if (page.data.length < limit) return seen;
    after = page.data[page.data.length - 1]!.id;
  }
}

test('paging gives every batch exactly once, newest first, ties in a second by id; each page reads about a page', async () => {
  const all = await pageThrough(null, 7);
  expect(all).toEqual(ids(expected(null)));
  expect(new Set(all).size).toBe(records.size);
  expect(records.size).toBeGreaterThan(250);
}, 60_000);

test.each(PROVIDERS)('paging with the provider filter: %s', async (provider) => {
  expect(await pageThrough(provider, 9)).toEqual(ids(expected(provider)));
}, 60_000);

test('`after` is strictly after that batch: inside a crowded second, the last batch, a batch without attributes', async () => {
  const order = expected(null);
  const crowded = order.filter((b) => b.created_at === BIG_SECOND);
  expect(crowded).toHaveLength(BIG);
  const withoutAttributes = order.filter((b) => unplacedIds.has(b.id)).map((b) => b.id);
  expect(withoutAttributes).toHaveLength(unplaced);
  const cursors = [crowded[3]!.id, crowded[BIG - 1]!.id, order[order.length - 1]!.id, order[0]!.id, ...withoutAttributes];
  for (const after of cursors) {
    const page = await listBatches(null, { temporal: { client }, limit: 12, after });
    expect(ids(page)).toEqual(ids(expected(null, after).slice(0, 12)));
  }
  const anthropic = expected('anthropic');
  const mid = anthropic[Math.floor(anthropic.length / 2)]!.id;
  expect(ids(await listBatches('anthropic', { temporal: { client }, limit: 5, after: mid }))).toEqual(ids(expected('anthropic', mid).slice(0, 5)));
});

test('records as retrieveBatch reads them: closed workflows failed, a reused id once as its latest run', async () => {
  const page = await listBatches(null, { temporal: { client }, limit: 100 });
  expect(page).toEqual(expected(null).slice(0, 100));
  const reused = [...records.values()].find((b) => b.id.startsWith('ab_reused_'))!;
  const everything = await pageThrough(null, 100);
  expect(everything.filter((id) => id === reused.id)).toHaveLength(1);
  expect((await pageThrough('openai', 100)).includes(reused.id)).toBe(false);
  const failed = [...records.values()].filter((b) => b.status === 'failed').map((b) => b.id);
  expect(failed).toHaveLength(2);
  const listed = new Map<string, string>();
  let after: string | undefined;
  for (;;) {
    const p = await listBatches(null, { temporal: { client }, limit: 100, ...(after ? { after } : {}) });
    for (const b of p) listed.set(b.id, b.status);
    if (p.length < 100) break;
    after = p[p.length - 1]!.id;
  }
  for (const id of failed) expect(listed.get(id)).toBe('failed');
}, 60_000);

test('a page far from crowded seconds reads little more than the page', async () => {
  const order = expected(null);
  const after = order.findIndex((b, i) => i > 100 && order.slice(i - 5, i + 40).every((x) => x.created_at !== BIG_SECOND));
  const page = await listBatchPage(null, { temporal: { client }, limit: 20, after: order[after]!.id });
  expect(ids(page.data)).toEqual(ids(order.slice(after + 1, after + 21)));
  expect(page.stats.listed).toBeLessThanOrEqual(20 + slackFor(20) + 2 * maxElsewhere + unplaced);
  expect(page.stats.listed).toBeLessThan(records.size / 4);
  expect(page.stats.counts).toBeLessThanOrEqual(40);
});

test('an unknown or other-provider `after` is BatchNotFoundError', async () => {
  await expect(listBatches(null, { temporal: { client }, after: 'ab_does_not_exist_0000' })).rejects.toBeInstanceOf(BatchNotFoundError);
  const openai = expected('openai')[0]!.id;
  await expect(listBatches('gemini', { temporal: { client }, after: openai })).rejects.toBeInstanceOf(BatchNotFoundError);
});

test('anybatch list prints the same rows', async () => {
  const order = expected(null);
  const after = order[40]!.id;
  const env = { address: temporalAddress(), taskQueue: idle, home };
  const run = await runCli(env, ['--namespace', namespace, 'list', '--limit', '6', '--after', after]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toBe(order.slice(41, 47).map((b) => listRow(b) + '\n').join(''));
  const json = await runCli(env, ['--namespace', namespace, 'list', '--provider', 'gemini', '--limit', '3', '--json']);
  expect(JSON.parse(json.stdout)).toEqual(expected('gemini').slice(0, 3));
}, 60_000);

test('a namespace without anybatch search attributes: the full listing, same results', async () => {
  const name = `list-bare-${crypto.randomBytes(4).toString('hex')}`;
  await newNamespace(name);
  bare = new Client({ connection, namespace: name });
  const random = rng(5);
  const fleet: FakeBatch[] = Array.from({ length: 15 }, (_, k) => {
    const at = BASE + Math.floor(k / 3) * 10;
    return { id: fakeBatchId(at, random), provider: PROVIDERS[k % 3]!, createdAt: at, searchAttributes: false };
  });
  await startFakeBatches(bare, fleet, idle, 8);
  await untilVisible(bare, fleet.length);
  const order = fleet.map(fakeRecord).sort(newestFirst);
  const pages: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listBatchPage(null, { temporal: { client: bare }, limit: 4, ...(after ? { after } : {}) });
    expect(page.stats.fullScan).toBe(true);
    pages.push(...ids(page.data));
    if (page.data.length < 4) break;
    after = page.data[3]!.id;
  }
  expect(pages).toEqual(ids(order));
  expect(ids(await listBatches('anthropic', { temporal: { client: bare }, limit: 100 }))).toEqual(ids(order.filter((b) => b.anybatch.provider === 'anthropic')));
});
