#!/usr/bin/env node
/**
 * The anybatch worker: runs batch workflows and their activities. `anybatch worker` (or `node dist/worker.js`)
 * runs it until SIGINT/SIGTERM; `createWorker` embeds it in another process.
 *
 * Its data (src/storage/worker-files.ts): the blob store `ANYBATCH_STORAGE` (unset: the local folder
 * `ANYBATCH_HOME`; `s3://bucket/prefix` with the AWS variables, see src/storage/index.ts), which must be the
 * clients' own, and checked before the worker polls (an unusable store stops it with what is wrong). With an S3
 * store, the worker's `ANYBATCH_HOME` holds only its scratch cache (`cache/<batch>/`, deleted as each batch's
 * results are written). `ANYBATCH_KEEP_INPUTS=1` keeps a batch's staged inputs (input, request ids, parts,
 * adapter state) in the store after its results are written; by default they are deleted then.
 *
 * Traces: when the standard OTEL_* variables ask for them (src/temporal/tracing.ts), the worker adds Temporal's
 * OpenTelemetry interceptors (activities, the activities' client, the workflows through dist/workflow-bundle-otel.js)
 * and exports by OTLP; otherwise nothing of OpenTelemetry is loaded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import { createActivities } from './src/activities';
import { checkWorkerStore, sweepScratch } from './src/storage/worker-files';
import { workerLogger } from './src/logging';
import { taskQueue as defaultTaskQueue, temporalSettings } from './src/config';
import { ensureSearchAttributes } from './src/temporal/search-attributes';
import { connectTemporal, guardConnect } from './src/temporal/client';
import { otlpTarget, shutdownTracing, tracingEnabled, withWorkerTracing, workerTracing } from './src/temporal/tracing';
import { createWebhookReceiver } from './src/webhooks/receiver';
import { closeWebhooks, listenWebhooks } from './src/webhooks/server';

export interface AnybatchWorkerOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /** Extra Temporal worker options (concurrency, cache size, ...). */
  worker?: Partial<WorkerOptions>;
  /** Skip registering the search attributes (for clusters where an operator manages them). */
  skipSearchAttributes?: boolean;
  /** Skip the blob store check at start (the store is still used; its errors then show in the batches). */
  skipStorageCheck?: boolean;
}

/**
 * The workflow code: ANYBATCH_WORKFLOW_BUNDLE, else the bundle `npm run build` writes next to the compiled
 * worker (dist/workflow-bundle.js), else bundled at start (running from the TypeScript sources, as the tests do).
 * A prebuilt bundle starts faster and keeps webpack out of the worker: about 80 MB less RSS for its lifetime.
 *
 * With traces on (src/temporal/tracing.ts), the bundle's `-otel` sibling (dist/workflow-bundle-otel.js, also written
 * by `npm run build`: the same workflows with Temporal's OpenTelemetry workflow interceptor), else the bundle
 * itself (its workflows then make no spans: a warning says so), else bundled at start with the interceptor.
 */
export function workflowSource(traced = false, env: NodeJS.ProcessEnv = process.env): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = env.ANYBATCH_WORKFLOW_BUNDLE || path.join(__dirname, 'workflow-bundle.js');
  if (traced) {
    const otel = tracedBundlePath(bundle);
    if (fs.existsSync(otel)) return { workflowBundle: { codePath: otel } };
    if (fs.existsSync(bundle)) console.error(`anybatch worker: warning: traces on, but no ${otel} (npm run build writes it next to ${path.basename(bundle)}): workflows make no spans`);
  }
  if (fs.existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  return { workflowsPath: require.resolve(path.join(__dirname, 'src', 'workflows')) };
}

/** The traced sibling of a prebuilt bundle: `x.js` -> `x-otel.js` (scripts/bundle-workflows.js writes both). */
export function tracedBundlePath(bundle: string): string {
  return bundle.replace(/\.js$/, '') + '-otel.js';
}

/**
 * ANYBATCH_WORKFLOW_CACHE: workflows kept in memory between their tasks (default 500). A waiting `batchJob` needs no
 * place here between its checkpoints (about 0.45 MB each in the SDK's workflow context), so 500 bounds the worker
 * near 400 MB whatever the batches in flight; batches still on `batchWorkflow` replay at each poll once evicted.
 */
function workflowCacheSize(): number {
  const raw = process.env.ANYBATCH_WORKFLOW_CACHE;
  if (raw === undefined || raw === '') return 500;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`ANYBATCH_WORKFLOW_CACHE=${raw} is not a whole number of workflows (0 or more).`);
  return n;
}

export async function createWorker(opts: AnybatchWorkerOptions = {}): Promise<Worker> {
  // The store first: a worker that cannot reach it would take batches only to fail them.
  if (!opts.skipStorageCheck) await checkWorkerStore();
  void sweepScratch().catch(() => undefined);
  const settings = temporalSettings({ address: opts.address, namespace: opts.namespace });
  if (!opts.skipSearchAttributes) {
    const admin = await connectTemporal(settings.connection);
    try {
      await ensureSearchAttributes(admin, settings.namespace);
    } finally {
      await admin.close();
    }
  }
  // OpenTelemetry traces when the OTEL_* variables ask for them (src/temporal/tracing.ts); null, and nothing loaded, when not.
  const tracing = workerTracing();
  const address = settings.connection.address ?? '127.0.0.1:7233';
  const connection = await guardConnect(address, () => NativeConnection.connect({
    address,
    tls: settings.connection.tls,
    apiKey: settings.connection.apiKey as string | undefined,
    metadata: settings.connection.metadata,
  }), { dispose: (c) => c.close() });
  const options: WorkerOptions = {
    connection,
    namespace: settings.namespace,
    taskQueue: opts.taskQueue ?? defaultTaskQueue(),
    ...workflowSource(tracing !== null),
    activities: createActivities(),
    // A waiting batch holds nothing but its place in this cache (its wait is an activity retried by the server), and
    // one evicted is replayed from its short history at its next checkpoint: the cache bounds the worker's memory,
    // not the number of batches in flight.
    maxCachedWorkflows: workflowCacheSize(),
    maxConcurrentActivityTaskExecutions: 50,
    maxConcurrentLocalActivityExecutions: 200,
    // Heartbeats reach the server within a second (activities choose how often they beat): an online batch's
    // cancel reaches its sending activity, and its live counts show, that fast.
    maxHeartbeatThrottleInterval: '1s',
    ...opts.worker,
  };
  return Worker.create(tracing ? withWorkerTracing(options, tracing) : options);
}

/** Runs a worker until SIGINT/SIGTERM, logging one line per entry at ANYBATCH_LOG_LEVEL (see src/logging.ts). */
export async function runWorker(opts: AnybatchWorkerOptions = {}): Promise<void> {
  const metrics = metricsAddress();
  const webhooks = webhooksAddress();
  Runtime.install({
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    logger: workerLogger(),
    // Prometheus on ANYBATCH_METRICS_ADDRESS: the SDK's `temporal_*` metrics and anybatch's `anybatch_*`
    // (src/activities/metrics.ts), counters with `_total`, durations in seconds, as Prometheus names them.
    ...(metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metrics, countersTotalSuffix: true, useSecondsForDurations: true } } } } : {}),
  });
  if (metrics) console.error(`anybatch worker: Prometheus metrics on http://${metrics}/metrics`);
  const worker = await createWorker(opts);
  const settings = temporalSettings({ address: opts.address, namespace: opts.namespace });
  console.error(`anybatch worker: task queue "${worker.options.taskQueue}" on ${settings.connection.address} (namespace ${settings.namespace})`);
  if (tracingEnabled()) console.error(`anybatch worker: OpenTelemetry traces to ${otlpTarget()}`);
  // Provider webhooks (OpenAI's at /webhooks/openai, Gemini's at /webhooks/gemini) received in the worker process, waking the batches they name.
  const receiver = webhooks
    ? await listenWebhooks(createWebhookReceiver({ client: { temporal: { address: opts.address, namespace: opts.namespace }, taskQueue: worker.options.taskQueue } }), webhooks.host, webhooks.port)
    : null;
  if (webhooks) console.error(`anybatch worker: provider webhooks on http://${webhooks.address}/webhooks/openai and /webhooks/gemini`);
  try {
    await worker.run();
  } finally {
    if (receiver) await closeWebhooks(receiver);
    // The spans of the last tasks, exported before the process ends.
    await shutdownTracing();
  }
}

export const METRICS_ADDRESS_ENV = 'ANYBATCH_METRICS_ADDRESS';
export const WEBHOOKS_ADDRESS_ENV = 'ANYBATCH_WEBHOOKS_ADDRESS';

/** `host:port` from `name` (null when unset); anything else is an error naming the variable. */
function hostPort(name: string, env: NodeJS.ProcessEnv, example: string): { address: string; host: string; port: number } | null {
  const value = env[name]?.trim();
  if (!value) return null;
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new Error(`${name}=${JSON.stringify(value)} is not host:port (${example}).`);
  return { address: value, host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** ANYBATCH_METRICS_ADDRESS as `host:port` (null when unset); anything else is an error naming the variable. */
export function metricsAddress(env: NodeJS.ProcessEnv = process.env): string | null {
  return hostPort(METRICS_ADDRESS_ENV, env, 'e.g. 127.0.0.1:9464, or 0.0.0.0:9464 to be scraped from other hosts')?.address ?? null;
}

/**
 * ANYBATCH_WEBHOOKS_ADDRESS (`host:port`): where the worker receives provider webhooks itself, as `anybatch webhooks`
 * does (OpenAI's at `/webhooks/openai`, verified with OPENAI_WEBHOOK_SECRET); null when unset.
 */
export function webhooksAddress(env: NodeJS.ProcessEnv = process.env): { address: string; host: string; port: number } | null {
  return hostPort(WEBHOOKS_ADDRESS_ENV, env, 'e.g. 127.0.0.1:8091, or 0.0.0.0:8091 behind a proxy that terminates TLS');
}

if (require.main === module) {
  runWorker().catch((err) => {
    console.error(`anybatch worker: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
