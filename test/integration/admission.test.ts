/**
 * Admission control end to end on the run's Temporal dev server: requester workflows (test/integration/
 * admission-workflows.ts, through the batch workflows' admission client) ask one admission workflow for a small
 * budget of enqueued tokens. Grants go first in, first out and only when a holder releases; a requester that stops
 * waiting leaves the queue; a part bigger than the budget goes out alone; a terminated holder's share is reclaimed
 * by the lease check; continue-as-new keeps the holders and the queue; with no limit no admission workflow runs.
 */
import crypto from 'node:crypto';
import { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { admissionStateQuery, type AdmissionTarget, type AdmissionView } from '../../src/admission/messages';
import { admissionWorkflowId, connectionHash } from '../../src/admission/key';
import { createAdmissionActivities } from '../../src/activities/admission';
import { quietRuntime, temporalAddress } from '../support/env';
import { recordHistory } from '../support/histories';
import { admissionRequester, finishSignal, requesterQuery, withdrawSignal, type RequesterView } from './admission-workflows';

const taskQueue = `admission-${crypto.randomBytes(4).toString('hex')}`;
let client: Client;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
const started: Array<WorkflowHandle> = [];

beforeAll(async () => {
  quietRuntime();
  const address = temporalAddress();
  client = new Client({ connection: await Connection.connect({ address }) });
  nativeConnection = await NativeConnection.connect({ address });
  worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('./admission-workflows'),
    activities: createAdmissionActivities(),
  });
  running = worker.run();
});

afterAll(async () => {
  await Promise.all(started.map((h) => h.terminate().catch(() => undefined)));
  worker.shutdown();
  await running;
  await nativeConnection.close();
  await client.connection.close();
});

/** A budget of its own per test: a base URL nobody else uses. */
function target(enqueuedTokens: number | null, maxHistoryEvents?: number): AdmissionTarget {
  const apiBase = `http://admission-test.invalid/${crypto.randomBytes(6).toString('hex')}/v1`;
  return {
    provider: 'openai',
    model: 'gpt-4o-mini',
    connection: { apiBase, sealed: null },
    limits: { enqueuedTokens },
    timing: { leaseCheckMs: 300, idleMs: 60_000, ...(maxHistoryEvents ? { maxHistoryEvents } : {}) },
  };
}

function admissionHandle(t: AdmissionTarget): WorkflowHandle {
  const id = admissionWorkflowId({ provider: t.provider, model: t.model }, connectionHash(t.connection.apiBase as string, process.env.OPENAI_API_KEY ?? ''));
  const handle = client.workflow.getHandle(id);
  started.push(handle);
  return handle;
}

async function request(t: AdmissionTarget, name: string, tokens: number): Promise<WorkflowHandle<typeof admissionRequester>> {
  const handle = await client.workflow.start(admissionRequester, {
    taskQueue,
    workflowId: `${name}-${crypto.randomBytes(4).toString('hex')}`,
    args: [t, 0, { tokens, requests: 1 }],
  });
  started.push(handle);
  return handle;
}

const view = (h: WorkflowHandle<typeof admissionRequester>): Promise<RequesterView> => h.query(requesterQuery);

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const admitted = (h: WorkflowHandle<typeof admissionRequester>, name: string) => eventually(() => view(h), (v) => v.admittedAt !== null, `${name} admitted`);
const queued = (h: WorkflowHandle<typeof admissionRequester>, name: string) => eventually(() => view(h), (v) => v.queued !== null, `${name} queued`);
const ids = (requests: Array<{ holder: string }>): string[] => requests.map((r) => r.holder);

test('grants go first in, first out under a small budget, and a release lets the waiting parts out', async () => {
  const t = target(100);
  const a = await request(t, 'a', 60);
  await admitted(a, 'a');
  const b = await request(t, 'b', 60);
  expect((await queued(b, 'b')).queued).toEqual({ granted: false, ahead: 0, reason: 'enqueued tokens: 60 of 100 in use, this part needs 60' });
  // c would fit beside a (60 + 40), but b is ahead of it: no overtaking.
  const c = await request(t, 'c', 40);
  expect((await queued(c, 'c')).queued).toMatchObject({ granted: false, ahead: 1 });
  // A requester that stops waiting (a cancel) leaves the queue.
  const d = await request(t, 'd', 10);
  await queued(d, 'd');
  await d.signal(withdrawSignal);
  expect(await d.result()).toMatchObject({ withdrawn: true, admittedAt: null });
  const state = await eventually<AdmissionView>(() => admissionHandle(t).query(admissionStateQuery), (s) => s.queue.length < 3, 'd withdrawn');
  expect([ids(state.holders), ids(state.queue), state.usage.enqueuedTokens]).toEqual([[a.workflowId], [b.workflowId, c.workflowId], 60]);
  expect((await view(c)).admittedAt).toBeNull();

  await a.signal(finishSignal);
  const aEnded = await a.result();
  const [bView, cView] = [await admitted(b, 'b'), await admitted(c, 'c')];
  expect(bView.admittedAt).toBeGreaterThanOrEqual(aEnded.finishedAt as number);
  expect(cView.admittedAt).toBeGreaterThanOrEqual(aEnded.finishedAt as number);
  const after = await admissionHandle(t).query(admissionStateQuery);
  expect([ids(after.holders), after.queue, after.usage.enqueuedTokens]).toEqual([[b.workflowId, c.workflowId], [], 100]);

  await Promise.all([b.signal(finishSignal), c.signal(finishSignal)]);
  await Promise.all([b.result(), c.result()]);
  const empty = await eventually<AdmissionView>(() => admissionHandle(t).query(admissionStateQuery), (s) => s.holders.length === 0, 'all released');
  expect(empty.usage).toEqual({ enqueuedTokens: 0, requests: 0, batches: 0 });
  await recordHistory(client, admissionHandle(t).workflowId, 'admission-fifo');
});

test('a part bigger than the budget goes out alone, and a terminated holder does not hold the budget', async () => {
  const t = target(100);
  const big = await request(t, 'big', 250);
  await admitted(big, 'big');
  const small = await request(t, 'small', 10);
  await queued(small, 'small');
  await big.terminate('gone without releasing');
  await admitted(small, 'small');
  const state = await admissionHandle(t).query(admissionStateQuery);
  expect(ids(state.holders)).toEqual([small.workflowId]);
});

test('continue-as-new keeps the holders and the queue', async () => {
  const t = target(100, 25);
  const holder = await request(t, 'holder', 100);
  await admitted(holder, 'holder');
  // One after the other, so the queue's order is known (two requests started together may arrive either way).
  const waiting = [];
  for (const name of ['w1', 'w2']) {
    const w = await request(t, name, 50);
    await queued(w, w.workflowId);
    waiting.push(w);
  }
  const admission = admissionHandle(t);
  expect(ids((await admission.query(admissionStateQuery)).queue)).toEqual(waiting.map((w) => w.workflowId));
  const firstRun = (await admission.describe()).runId;
  // Each lease check (every 300 ms while anything is held) adds history; 25 events force continue-as-new.
  await eventually(() => admission.describe(), (d) => d.runId !== firstRun, 'continue-as-new', 20_000);
  const carried = await admission.query(admissionStateQuery);
  expect([ids(carried.holders), ids(carried.queue)]).toEqual([[holder.workflowId], waiting.map((w) => w.workflowId)]);

  await holder.signal(finishSignal);
  for (const w of waiting) await admitted(w, w.workflowId);
});

test('with no limit a part is admitted at once and no admission workflow starts; a bad request fails its requester', async () => {
  const free = target(null);
  const part = await request(free, 'free', 10_000_000);
  await admitted(part, 'free');
  expect((await view(part)).queued).toBeNull();
  await expect(admissionHandle(free).describe()).rejects.toThrow(/not found/i);

  const refusing = target(100);
  const bad = await request(refusing, 'bad', 1.5);
  await expect(bad.result()).rejects.toMatchObject({ cause: { cause: { type: 'admission_refused' } } });
  expect((await admissionHandle(refusing).query(admissionStateQuery)).queue).toEqual([]);
});
