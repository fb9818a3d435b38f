/**
 * `anybatch health`: is a worker of this host polling the anybatch task queue? For container healthchecks
 * (docker-compose.yml runs it in the worker's container) and for operators.
 *
 * A Temporal worker's default identity is `${pid}@${hostname}`, and Temporal remembers each poller of a task
 * queue with the time of its last poll. Healthy means: a poller whose identity ends with `@<this host>` polled
 * the workflow task queue within the last two minutes (an idle worker long-polls about once a minute). The
 * activity task queue is looked at and reported, but does not decide: a worker whose activity slots are all
 * busy stops polling activities until one frees up, and is healthy all the same.
 * The blob store (`ANYBATCH_STORAGE`) is checked too, the way a worker checks it at start but without writing
 * (HeadBucket for S3: endpoint reachable, bucket there, credentials accepted); `--no-store` skips it.
 * Exit status: 0 healthy; 1 otherwise, with one line on stderr saying why.
 */
import os from 'node:os';
import type { Command } from 'commander';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { AnybatchError, TemporalUnavailableError } from '../errors';
import { taskQueue as defaultTaskQueue, temporalSettings } from '../config';
import { temporalClient } from '../temporal/client';
import { checkStore, openStore, storageConfigFromEnv } from '../storage';

const { TaskQueueType, TaskQueueKind } = temporal.api.enums.v1;

/** How recent a poll must be for the worker to count as alive. */
export const HEALTH_MAX_POLL_AGE_MS = 2 * 60 * 1000;

interface GlobalOpts {
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

export interface PollerSeen {
  identity: string;
  lastAccessMs: number;
}

export interface HealthOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /** Accept a poller of any host (checking from another machine). */
  any?: boolean;
  /** Now, for tests. */
  now?: number;
}

export interface HealthReport {
  address: string;
  namespace: string;
  taskQueue: string;
  /** The freshest matching poller of each queue type, if any. */
  workflow: PollerSeen | null;
  activity: PollerSeen | null;
}

/** A protobuf Timestamp (seconds as a Long from gRPC, or a number) in epoch milliseconds. */
function timestampMs(ts: unknown): number | null {
  if (!ts || typeof ts !== 'object') return null;
  const { seconds, nanos } = ts as { seconds?: number | { toNumber(): number } | null; nanos?: number | null };
  if (seconds === undefined || seconds === null) return null;
  const s = typeof seconds === 'number' ? seconds : seconds.toNumber();
  return s * 1000 + Math.floor((nanos ?? 0) / 1e6);
}

/** The freshest poller of `pollers` that matches (this host, or any with `any`) and polled within the window. */
export function freshPoller(
  pollers: ReadonlyArray<{ identity?: string | null; lastAccessTime?: unknown }>,
  opts: { any?: boolean; hostname?: string; now?: number; maxAgeMs?: number } = {},
): PollerSeen | null {
  const suffix = `@${opts.hostname ?? os.hostname()}`;
  const now = opts.now ?? Date.now();
  const maxAge = opts.maxAgeMs ?? HEALTH_MAX_POLL_AGE_MS;
  let best: PollerSeen | null = null;
  for (const p of pollers) {
    const identity = p.identity ?? '';
    if (!opts.any && !identity.endsWith(suffix)) continue;
    const lastAccessMs = timestampMs(p.lastAccessTime);
    if (lastAccessMs === null) continue;
    if (now - lastAccessMs > maxAge) continue;
    if (!best || lastAccessMs > best.lastAccessMs) best = { identity, lastAccessMs };
  }
  return best;
}

function unreachable(err: unknown): boolean {
  if (err instanceof TemporalUnavailableError) return true;
  const e = err as { code?: number; message?: string };
  // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4), or a connection that never came up.
  return e?.code === 14 || e?.code === 4 || /ECONNREFUSED|UNAVAILABLE|Failed to connect|TransportError|timed out|deadline/i.test(String(e?.message));
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

/** Looks at the task queue's pollers. Throws `TemporalUnavailableError` when Temporal cannot be reached. */
export async function checkHealth(opts: HealthOptions = {}): Promise<HealthReport> {
  const settings = temporalSettings({ address: opts.address, namespace: opts.namespace });
  const address = settings.connection.address ?? '';
  const taskQueue = opts.taskQueue ?? defaultTaskQueue();
  let client: Client;
  try {
    client = await temporalClient({ address: opts.address, namespace: opts.namespace });
  } catch (err) {
    // temporalClient already says "Cannot reach Temporal at ADDRESS (why)" in one line.
    if (err instanceof TemporalUnavailableError) throw err;
    throw new TemporalUnavailableError(address, `Temporal unreachable at ${address} (${firstLine(err)})`, { cause: err });
  }
  const namespace = client.options.namespace;
  const describe = async (type: temporal.api.enums.v1.TaskQueueType) => {
    try {
      const res = await client.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: type,
      });
      return freshPoller(res.pollers ?? [], { any: opts.any, now: opts.now });
    } catch (err) {
      if (unreachable(err)) throw new TemporalUnavailableError(address, `Temporal unreachable at ${address} (${firstLine(err)})`, { cause: err });
      throw new AnybatchError('health_check_failed', `cannot describe task queue "${taskQueue}" in namespace ${namespace} at ${address}: ${firstLine(err)}`, { cause: err });
    }
  };
  const [workflow, activity] = await Promise.all([describe(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), describe(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)]);
  return { address, namespace, taskQueue, workflow, activity };
}

function age(seen: PollerSeen, now: number): string {
  return `${Math.max(0, Math.round((now - seen.lastAccessMs) / 1000))} s ago`;
}

/** The store of this host's environment, checked without writing; throws its `StorageError` when unusable. */
export async function checkStoreHealth(timeoutMs = 10_000): Promise<string> {
  const store = openStore(storageConfigFromEnv());
  await checkStore(store, { probe: false, timeoutMs });
  return store.describe();
}

export function registerHealthCommand(program: Command): void {
  program
    .command('health')
    .description('exit 0 if a worker of this host polled the task queue within the last 2 minutes, else 1 (for container healthchecks)')
    .option('--any', 'accept a worker of any host (to check from another machine)')
    .option('--no-store', 'do not check the blob store (ANYBATCH_STORAGE)')
    .action(async (o: { any?: boolean; store: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOpts>();
      const report = await checkHealth({ address: g.address, namespace: g.namespace, taskQueue: g.taskQueue, any: o.any });
      const now = Date.now();
      const who = o.any ? 'no worker' : `no worker of this host (${os.hostname()})`;
      if (!report.workflow) {
        throw new AnybatchError(
          'unhealthy',
          `${who} polls task queue "${report.taskQueue}" (namespace ${report.namespace} at ${report.address}) within the last ${HEALTH_MAX_POLL_AGE_MS / 60_000} minutes`,
        );
      }
      const activity = report.activity ? `activities polled ${age(report.activity, now)}` : 'no recent activity poll (all activity slots busy?)';
      const store = o.store ? `; the ${await checkStoreHealth()} answers` : '';
      process.stdout.write(`ok: ${report.workflow.identity} polls task queue "${report.taskQueue}" (workflows polled ${age(report.workflow, now)}, ${activity})${store}\n`);
    });
}
