/**
 * OpenTelemetry traces across the client, the workflows and the activities (Temporal's OpenTelemetry interceptors),
 * exported by OTLP. Off by default, and configured only by the standard `OTEL_*` variables (`tracingEnabled` says
 * when they turn it on). Off, it costs nothing: this module then loads no OpenTelemetry package (every `require` of
 * one is inside the on-branch; the imports here are types only), installs no interceptor, and the worker runs the
 * same workflow bundle as without tracing.
 *
 * On, a process gets one tracer provider (service name `OTEL_SERVICE_NAME`, default `anybatch-worker` in a worker,
 * `anybatch-client` in a client), registered as the global one unless the process already registered its own:
 * - the client (src/temporal/client.ts): `StartWorkflow:batchJob`, `StartWorkflowUpdate:submitted`, ... spans, whose
 *   context goes to the workflow in its start headers;
 * - the workflow (interceptor module `WORKFLOW_INTERCEPTORS_MODULE`, in the bundle `npm run build` writes as
 *   dist/workflow-bundle-otel.js): `RunWorkflow:batchJob`, `StartActivity:createPartBatch`, ..., made in the workflow
 *   sandbox and exported through a sink by the worker (never while replaying: the interceptor writes no command, only
 *   SDK flags in the task's metadata, so histories replay with or without it);
 * - the activities: `RunActivity:createPartBatch`, ...
 * The spans anybatch can place carry `anybatch.batch_id` and `anybatch.provider` (from a batch's spec or its memo),
 * and nothing else of a batch: never its credentials, metadata or requests.
 */
import type * as otelApi from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ClientInterceptors, Next, WorkflowClientInterceptor, WorkflowStartInput, WorkflowStartOutput } from '@temporalio/client';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import type { Info as ActivityInfo } from '@temporalio/activity';
import { BATCH_WORKFLOW_TYPES, MEMO_BATCH } from '../contract/messages';
import { RECOVER_WORKFLOW_TYPE } from '../contract/recovery';

export const DEFAULT_WORKER_SERVICE_NAME = 'anybatch-worker';
export const DEFAULT_CLIENT_SERVICE_NAME = 'anybatch-client';
/** The span attributes anybatch adds. */
export const BATCH_ID_ATTRIBUTE = 'anybatch.batch_id';
export const PROVIDER_ATTRIBUTE = 'anybatch.provider';
/** The workflow interceptor module (the workflow side of Temporal's OpenTelemetry interceptors). */
export const WORKFLOW_INTERCEPTORS_MODULE = '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];

function value(raw: string | undefined): string {
  return raw?.trim() ?? '';
}

/**
 * Whether the standard variables ask for traces:
 * - `OTEL_SDK_DISABLED=true` (any case): off, whatever else is set;
 * - else `OTEL_TRACES_EXPORTER` set (a comma-separated list): on when it lists `otlp` and not `none` (so `none`,
 *   `console`, ... are off: anybatch exports by OTLP only);
 * - else on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set (not empty).
 * Nothing set: off (unlike an OpenTelemetry SDK's default of `otlp`: anybatch exports only when asked to).
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (value(env.OTEL_SDK_DISABLED).toLowerCase() === 'true') return false;
  const exporters = value(env.OTEL_TRACES_EXPORTER)
    .toLowerCase()
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (exporters.length > 0) return exporters.includes('otlp') && !exporters.includes('none');
  return value(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) !== '' || value(env.OTEL_EXPORTER_OTLP_ENDPOINT) !== '';
}

/**
 * The OTLP protocol: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`
 * (the specification's default). Anything but `http/protobuf`, `http/json` or `grpc` is an error naming the variable.
 */
export function otlpProtocol(env: NodeJS.ProcessEnv = process.env): OtlpProtocol {
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const raw = value(env[name]);
    if (raw === '') continue;
    const protocol = PROTOCOLS.find((p) => p === raw.toLowerCase());
    if (!protocol) throw new Error(`${name}=${JSON.stringify(raw)} is not an OTLP protocol (one of ${PROTOCOLS.join(', ')}).`);
    return protocol;
  }
  return 'http/protobuf';
}

/** Where spans go, for the worker's start line: the traces endpoint as the exporter will use it. */
export function otlpTarget(env: NodeJS.ProcessEnv = process.env): string {
  const protocol = otlpProtocol(env);
  const traces = value(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (traces) return `${traces} (${protocol})`;
  const base = value(env.OTEL_EXPORTER_OTLP_ENDPOINT) || (protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318');
  return `${protocol === 'grpc' ? base : `${base.replace(/\/+$/, '')}/v1/traces`} (${protocol})`;
}

type Attributes = Record<string, string>;

function field(obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined;
}

/**
 * `anybatch.batch_id` and `anybatch.provider` from a batch workflow's or activity's first argument: a `BatchSpec`, or
 * an input holding one as `spec`. Reads those two fields and nothing else of it.
 */
export function batchAttributes(arg: unknown): Attributes {
  const spec = field(arg, 'spec') ?? arg;
  const out: Attributes = {};
  const batchId = field(spec, 'batchId');
  const provider = field(spec, 'provider');
  if (typeof batchId === 'string' && batchId !== '') out[BATCH_ID_ATTRIBUTE] = batchId;
  if (typeof provider === 'string' && provider !== '') out[PROVIDER_ATTRIBUTE] = provider;
  return out;
}

/** The batch a workflow belongs to, from what its info says: its batch memo, else its type and id. */
export function workflowBatchAttributes(info: Pick<WorkflowInfo, 'workflowId' | 'workflowType' | 'memo'>): Attributes {
  const batch = info.memo?.[MEMO_BATCH];
  const out: Attributes = {};
  const id = field(batch, 'id');
  const provider = field(field(batch, 'anybatch'), 'provider');
  if (typeof id === 'string' && id !== '') out[BATCH_ID_ATTRIBUTE] = id;
  else if (BATCH_WORKFLOW_TYPES.includes(info.workflowType)) out[BATCH_ID_ATTRIBUTE] = info.workflowId;
  else if (info.workflowType === RECOVER_WORKFLOW_TYPE && info.workflowId.endsWith('/recover')) out[BATCH_ID_ATTRIBUTE] = info.workflowId.slice(0, -'/recover'.length);
  if (typeof provider === 'string' && provider !== '') out[PROVIDER_ATTRIBUTE] = provider;
  return out;
}

/** An activity's batch: from its first argument, else (an activity of a batch workflow) its workflow's id. */
export function activityBatchAttributes(info: Pick<ActivityInfo, 'workflowType' | 'workflowExecution'>, args: readonly unknown[]): Attributes {
  const out = batchAttributes(args[0]);
  if (!out[BATCH_ID_ATTRIBUTE] && info.workflowType !== undefined && BATCH_WORKFLOW_TYPES.includes(info.workflowType) && info.workflowExecution) {
    out[BATCH_ID_ATTRIBUTE] = info.workflowExecution.workflowId;
  }
  return out;
}

/**
 * The workflow info the sink puts on a workflow's spans: Temporal's upstream exporter copies the whole `WorkflowInfo`
 * (memo and search attributes included) into every span's attributes; anybatch keeps these scalars and its own two.
 */
export function workflowSpanAttributes(info: WorkflowInfo): Record<string, string | number> {
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    workflowType: info.workflowType,
    taskQueue: info.taskQueue,
    namespace: info.namespace,
    attempt: info.attempt,
    ...workflowBatchAttributes(info),
  };
}

interface Tracing {
  serviceName: string;
  resource: Resource;
  processor: SpanProcessor;
  provider: { shutdown(): Promise<void>; forceFlush(): Promise<void> };
  /** Whether the global tracer provider is this one (not one the process registered before). */
  registered: boolean;
}

let current: Tracing | null = null;

function diagLevel(api: typeof otelApi, raw: string): otelApi.DiagLogLevel | null {
  const levels: Record<string, otelApi.DiagLogLevel> = {
    NONE: api.DiagLogLevel.NONE,
    ERROR: api.DiagLogLevel.ERROR,
    WARN: api.DiagLogLevel.WARN,
    INFO: api.DiagLogLevel.INFO,
    DEBUG: api.DiagLogLevel.DEBUG,
    VERBOSE: api.DiagLogLevel.VERBOSE,
    ALL: api.DiagLogLevel.ALL,
  };
  return levels[raw.toUpperCase()] ?? null;
}

function otlpExporter(protocol: OtlpProtocol): SpanExporter {
  // Each exporter reads the standard variables itself (endpoint, headers, timeout, compression, certificates).
  switch (protocol) {
    case 'http/json':
      return new (require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'grpc':
      return new (require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
    default:
      return new (require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  }
}

/**
 * Starts this process's tracing when the standard variables ask for it (null otherwise), once: later calls return
 * the same. `defaultServiceName` is used when OTEL_SERVICE_NAME (or `service.name` in OTEL_RESOURCE_ATTRIBUTES) is not
 * set; the first caller's wins. Spans are batched (the `OTEL_BSP_*` variables) and flushed by `flushTracing`, at
 * `shutdownTracing`, and when the process is about to exit. `env` decides on/off and the protocol; the OpenTelemetry
 * packages read the rest (endpoint, headers, resource, sampler, batching) from `process.env` themselves.
 */
export function startTracing(defaultServiceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | null {
  if (current) return current;
  if (!tracingEnabled(env)) return null;
  const protocol = otlpProtocol(env);
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const level = diagLevel(api, value(env.OTEL_LOG_LEVEL));
  if (level !== null) api.diag.setLogger(new api.DiagConsoleLogger(), { logLevel: level });
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) override the default name.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': defaultServiceName }))
    .merge(detectResources({ detectors: [envDetector] }));
  const processor = new BatchSpanProcessor(otlpExporter(protocol));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // The global provider, AsyncLocalStorage context and W3C propagator, each unless the process registered its own
  // (its spans then go through that provider; the workflows' through anybatch's exporter all the same).
  provider.register();
  const owner = api.trace.getTracerProvider() as Partial<otelApi.ProxyTracerProvider>;
  const registered = owner.getDelegate?.() === provider;
  const serviceName = String(resource.attributes['service.name'] ?? defaultServiceName);
  current = { serviceName, resource, processor, provider, registered };
  process.once('beforeExit', () => void shutdownTracing());
  return current;
}

/** Exports the spans ended so far (a no-op when tracing is off). */
export async function flushTracing(): Promise<void> {
  await current?.provider.forceFlush().catch(() => undefined);
}

/** Flushes and stops this process's tracing (a no-op when off); a later `startTracing` starts it again. */
export async function shutdownTracing(): Promise<void> {
  const tracing = current;
  if (!tracing) return;
  current = null;
  await tracing.provider.shutdown().catch(() => undefined);
  // The context manager and propagator stay: a later start would register the same kinds.
  if (tracing.registered) (require('@opentelemetry/api') as typeof import('@opentelemetry/api')).trace.disable();
}

type OtelInterceptors = typeof import('@temporalio/interceptors-opentelemetry');

let loadedApi: typeof otelApi | undefined;

function setActiveAttributes(attributes: Attributes): void {
  if (Object.keys(attributes).length === 0) return;
  loadedApi ??= require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  loadedApi.trace.getActiveSpan()?.setAttributes(attributes);
}

/** Temporal's client interceptor, with the batch's id and provider on the span of a batch workflow's start. */
function batchClientInterceptor(lib: OtelInterceptors): WorkflowClientInterceptor {
  const startAttributes = (input: WorkflowStartInput): Attributes => batchAttributes(input.options.args?.[0]);
  class BatchWorkflowClientInterceptor extends lib.OpenTelemetryWorkflowClientInterceptor {
    override async start(input: WorkflowStartInput, next: Next<WorkflowClientInterceptor, 'start'>): Promise<string> {
      return super.start(input, (i) => {
        setActiveAttributes(startAttributes(i));
        return next(i);
      });
    }

    override async startWithDetails(input: WorkflowStartInput, next: Next<WorkflowClientInterceptor, 'startWithDetails'>): Promise<WorkflowStartOutput> {
      return super.startWithDetails(input, (i) => {
        setActiveAttributes(startAttributes(i));
        return next(i);
      });
    }
  }
  return new BatchWorkflowClientInterceptor();
}

/**
 * The client's interceptors when tracing is on (null when off): `temporalClient` adds them to the clients it opens.
 * Starts the process's tracing with the service name `anybatch-client` unless it already runs.
 */
export function clientTracingInterceptors(env: NodeJS.ProcessEnv = process.env): ClientInterceptors | null {
  if (!startTracing(DEFAULT_CLIENT_SERVICE_NAME, env)) return null;
  const lib = require('@temporalio/interceptors-opentelemetry') as OtelInterceptors;
  return { workflow: [batchClientInterceptor(lib)] };
}

/** What a worker adds when tracing is on. */
export interface WorkerTracing {
  /** Activity interceptors (spans with the batch's attributes, trace ids on log lines). */
  activity: ActivityInterceptorsFactory[];
  /** Interceptors of the client the worker gives its activities. */
  clientWorkflow: WorkflowClientInterceptor[];
  /** The workflow interceptor module, for a worker that bundles its workflows at start. */
  workflowModule: string;
  /** The sink that exports the workflows' spans. */
  sinks: NonNullable<WorkerOptions['sinks']>;
}

interface LegacySpan {
  parentSpanId?: string;
  instrumentationLibrary?: { name: string; version?: string; schemaUrl?: string };
  spanContext(): otelApi.SpanContext;
}

/**
 * The workflow spans' processor. The workflow interceptor (OpenTelemetry JS 1.x inside the interceptor package) hands
 * over spans of the 1.x shape (`parentSpanId`, `instrumentationLibrary`); the 2.x exporter reads `parentSpanContext` and
 * `instrumentationScope`: without this the workflow's spans would lose their parents.
 */
function workflowSpanProcessor(tracing: Tracing): SpanProcessor {
  const forward = tracing.processor;
  return {
    onStart: () => undefined,
    onEnd(span: ReadableSpan) {
      const legacy = span as unknown as LegacySpan;
      const context = legacy.spanContext();
      const converted: ReadableSpan = {
        ...span,
        spanContext: () => context,
        resource: tracing.resource,
        instrumentationScope: span.instrumentationScope ?? legacy.instrumentationLibrary ?? { name: '@temporalio/interceptor-workflow' },
        parentSpanContext: span.parentSpanContext ?? (legacy.parentSpanId ? { traceId: context.traceId, spanId: legacy.parentSpanId, traceFlags: context.traceFlags } : undefined),
      };
      forward.onEnd(converted);
    },
    forceFlush: () => forward.forceFlush(),
    shutdown: () => Promise.resolve(),
  };
}

/**
 * The worker's tracing when the standard variables ask for it (null when off). Starts the process's tracing with the
 * service name `anybatch-worker` unless it already runs.
 */
export function workerTracing(env: NodeJS.ProcessEnv = process.env): WorkerTracing | null {
  const tracing = startTracing(DEFAULT_WORKER_SERVICE_NAME, env);
  if (!tracing) return null;
  const lib = require('@temporalio/interceptors-opentelemetry') as OtelInterceptors;
  class BatchActivityInboundInterceptor extends lib.OpenTelemetryActivityInboundInterceptor {
    override async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
      return super.execute(input, (i) => {
        setActiveAttributes(activityBatchAttributes(this.ctx.info, i.args));
        return next(i);
      });
    }
  }
  const exporter = lib.makeWorkflowExporter(
    workflowSpanProcessor(tracing) as unknown as Parameters<typeof lib.makeWorkflowExporter>[0],
    tracing.resource as unknown as Parameters<typeof lib.makeWorkflowExporter>[1],
  );
  return {
    activity: [(ctx) => ({ inbound: new BatchActivityInboundInterceptor(ctx), outbound: new lib.OpenTelemetryActivityOutboundInterceptor(ctx) })],
    clientWorkflow: [batchClientInterceptor(lib)],
    workflowModule: require.resolve(WORKFLOW_INTERCEPTORS_MODULE),
    sinks: {
      exporter: {
        export: {
          // The upstream exporter merges the info it is given into each span's attributes.
          fn: (info: WorkflowInfo, spans: unknown) =>
            (exporter.export.fn as (info: unknown, spans: unknown) => void)(workflowSpanAttributes(info), spans),
          callDuringReplay: false,
        },
      },
    } as NonNullable<WorkerOptions['sinks']>,
  };
}

/**
 * `options` with the worker's tracing added to what they already have: the activity interceptors, the activities'
 * client's interceptors, the sink, and (when the worker bundles its workflows at start, not with a prebuilt bundle) the
 * workflow interceptor module.
 */
export function withWorkerTracing(options: WorkerOptions, tracing: WorkerTracing): WorkerOptions {
  const given = options.interceptors ?? {};
  const clientWorkflow = given.client?.workflow;
  return {
    ...options,
    interceptors: {
      ...given,
      activity: [...tracing.activity, ...(given.activity ?? [])],
      client: {
        ...given.client,
        // The deprecated object form of a client's workflow interceptors is left as given.
        workflow: clientWorkflow === undefined ? tracing.clientWorkflow : Array.isArray(clientWorkflow) ? [...tracing.clientWorkflow, ...clientWorkflow] : clientWorkflow,
      },
      ...(options.workflowBundle ? {} : { workflowModules: [tracing.workflowModule, ...(given.workflowModules ?? [])] }),
    },
    sinks: { ...options.sinks, ...tracing.sinks },
  };
}
