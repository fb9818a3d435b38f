/**
 * Traces (src/temporal/tracing.ts): when the standard OTEL_* variables turn them on, which protocol they choose, the
 * span attributes anybatch adds (a batch's id and provider, never more of it), how a worker's options get the
 * interceptors, and that with traces off no OpenTelemetry package is even loaded. No server: the end to end trace is
 * test/integration/tracing.test.ts.
 */
import type { WorkflowInfo } from '@temporalio/workflow';
import type { WorkerOptions } from '@temporalio/worker';
import {
  BATCH_ID_ATTRIBUTE,
  PROVIDER_ATTRIBUTE,
  activityBatchAttributes,
  batchAttributes,
  otlpProtocol,
  otlpTarget,
  tracingEnabled,
  withWorkerTracing,
  workflowBatchAttributes,
  workflowSpanAttributes,
  type WorkerTracing,
} from '../../src/temporal/tracing';

describe('tracingEnabled: the standard variables decide', () => {
  test.each<[string, Record<string, string>, boolean]>([
    ['nothing set', {}, false],
    ['an OTLP endpoint', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    ['a traces endpoint', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    ['an empty endpoint', { OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, false],
    ['OTEL_TRACES_EXPORTER=otlp, no endpoint (the default one)', { OTEL_TRACES_EXPORTER: 'otlp' }, true],
    ['OTEL_TRACES_EXPORTER listing otlp', { OTEL_TRACES_EXPORTER: 'console, OTLP' }, true],
    ['OTEL_TRACES_EXPORTER=none wins over an endpoint', { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    ['an exporter other than otlp', { OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    ['OTEL_SDK_DISABLED=true wins over everything', { OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    ['OTEL_SDK_DISABLED=false', { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    ['only the metrics endpoint', { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318/v1/metrics' }, false],
  ])('%s', (_name, env, on) => {
    expect(tracingEnabled(env)).toBe(on);
  });
});

describe('otlpProtocol and otlpTarget', () => {
  test('http/protobuf by default; the traces variable before the general one', () => {
    expect(otlpProtocol({})).toBe('http/protobuf');
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toBe('grpc');
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })).toBe('http/json');
  });

  test('an unknown protocol is an error naming the variable', () => {
    expect(() => otlpProtocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift' })).toThrow('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="thrift" is not an OTLP protocol (one of http/protobuf, http/json, grpc).');
  });

  test('the endpoint as the exporter uses it', () => {
    expect(otlpTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe('http://collector:4318/v1/traces (http/protobuf)');
    expect(otlpTarget({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:9/traces', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe('http://c:9/traces (http/protobuf)');
    expect(otlpTarget({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe('http://localhost:4318/v1/traces (http/protobuf)');
    expect(otlpTarget({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toBe('http://localhost:4317 (grpc)');
  });
});

describe('span attributes', () => {
  const spec = { batchId: 'ab_1', provider: 'openai', connection: { apiBase: null, sealed: 'SEALED-CREDENTIALS' }, metadata: { team: 'x' } };

  test("a batch's id and provider from its spec or an input holding it, and nothing else", () => {
    expect(batchAttributes(spec)).toEqual({ [BATCH_ID_ATTRIBUTE]: 'ab_1', [PROVIDER_ATTRIBUTE]: 'openai' });
    expect(batchAttributes({ spec, state: null })).toEqual({ [BATCH_ID_ATTRIBUTE]: 'ab_1', [PROVIDER_ATTRIBUTE]: 'openai' });
    expect(batchAttributes('ab_1')).toEqual({});
    expect(batchAttributes(null)).toEqual({});
    expect(batchAttributes({ batchId: 7, provider: '' })).toEqual({});
  });

  test("an activity without a spec in a batch workflow: the workflow's id", () => {
    const info = { workflowType: 'batchJob', workflowExecution: { workflowId: 'ab_2', runId: 'r' } };
    expect(activityBatchAttributes(info, ['ab_2'])).toEqual({ [BATCH_ID_ATTRIBUTE]: 'ab_2' });
    expect(activityBatchAttributes(info, [spec])).toEqual({ [BATCH_ID_ATTRIBUTE]: 'ab_1', [PROVIDER_ATTRIBUTE]: 'openai' });
    expect(activityBatchAttributes({ workflowType: 'admissionWorkflow', workflowExecution: { workflowId: 'adm', runId: 'r' } }, [{ scope: 's' }])).toEqual({});
    expect(activityBatchAttributes({ workflowType: undefined, workflowExecution: undefined }, [])).toEqual({});
  });

  test("a workflow's: from its batch memo, else its type and id", () => {
    expect(workflowBatchAttributes({ workflowId: 'ab_3', workflowType: 'batchJob', memo: { batch: { id: 'ab_3', anybatch: { provider: 'anthropic' } } } })).toEqual({
      [BATCH_ID_ATTRIBUTE]: 'ab_3',
      [PROVIDER_ATTRIBUTE]: 'anthropic',
    });
    expect(workflowBatchAttributes({ workflowId: 'ab_4', workflowType: 'batchWorkflow', memo: {} })).toEqual({ [BATCH_ID_ATTRIBUTE]: 'ab_4' });
    expect(workflowBatchAttributes({ workflowId: 'ab_5/recover', workflowType: 'recoverJob' })).toEqual({ [BATCH_ID_ATTRIBUTE]: 'ab_5' });
    expect(workflowBatchAttributes({ workflowId: 'admission-x', workflowType: 'admissionWorkflow' })).toEqual({});
  });

  test("a workflow span's attributes: Temporal's scalars and anybatch's two, no memo or search attributes", () => {
    const info = {
      workflowId: 'ab_6',
      runId: 'run',
      workflowType: 'batchJob',
      taskQueue: 'anybatch',
      namespace: 'default',
      attempt: 1,
      memo: { batch: { id: 'ab_6', metadata: { secret: 'm' }, anybatch: { provider: 'openai' } } },
      searchAttributes: { AnybatchStatus: ['running'] },
      historyLength: 12,
    } as unknown as WorkflowInfo;
    expect(workflowSpanAttributes(info)).toEqual({
      workflowId: 'ab_6',
      runId: 'run',
      workflowType: 'batchJob',
      taskQueue: 'anybatch',
      namespace: 'default',
      attempt: 1,
      [BATCH_ID_ATTRIBUTE]: 'ab_6',
      [PROVIDER_ATTRIBUTE]: 'openai',
    });
  });
});

describe('withWorkerTracing', () => {
  const tracing: WorkerTracing = {
    activity: [() => ({})],
    clientWorkflow: [{}],
    workflowModule: '/otel/workflow-interceptors.js',
    sinks: { exporter: { export: { fn: () => undefined } } } as unknown as WorkerTracing['sinks'],
  };

  test('a prebuilt bundle gets no workflow module (it is in the bundle); bundling at start does', () => {
    const bundled = withWorkerTracing({ taskQueue: 'q', workflowBundle: { codePath: '/b-otel.js' } }, tracing);
    expect(bundled.interceptors?.workflowModules).toBeUndefined();
    const fromSources = withWorkerTracing({ taskQueue: 'q', workflowsPath: '/src/workflows' }, tracing);
    expect(fromSources.interceptors?.workflowModules).toEqual(['/otel/workflow-interceptors.js']);
  });

  test("the options' own interceptors and sinks are kept", () => {
    const own = () => ({});
    const ownClient = {};
    const ownSink = { fn: () => undefined };
    const options = {
      taskQueue: 'q',
      workflowsPath: '/src/workflows',
      interceptors: { activity: [own], client: { workflow: [ownClient] }, workflowModules: ['/mine.js'] },
      sinks: { mine: { log: ownSink } },
    } as unknown as WorkerOptions;
    const merged = withWorkerTracing(options, tracing);
    expect(merged.interceptors?.activity).toEqual([tracing.activity[0], own]);
    expect(merged.interceptors?.client?.workflow).toEqual([tracing.clientWorkflow[0], ownClient]);
    expect(merged.interceptors?.workflowModules).toEqual(['/otel/workflow-interceptors.js', '/mine.js']);
    expect(Object.keys(merged.sinks ?? {}).sort()).toEqual(['exporter', 'mine']);
  });
});

test('with traces off, no OpenTelemetry package is loaded and nothing is installed', async () => {
  const loaded: string[] = [];
  const packages = [
    '@opentelemetry/api',
    '@opentelemetry/resources',
    '@opentelemetry/sdk-trace-base',
    '@opentelemetry/sdk-trace-node',
    '@opentelemetry/exporter-trace-otlp-http',
    '@opentelemetry/exporter-trace-otlp-proto',
    '@opentelemetry/exporter-trace-otlp-grpc',
    '@temporalio/interceptors-opentelemetry',
  ];
  await jest.isolateModulesAsync(async () => {
    for (const name of packages) {
      jest.doMock(name, () => {
        loaded.push(name);
        return {};
      });
    }
    // The client module too: it imports the tracing module, and must not load OpenTelemetry through it.
    require('../../src/temporal/client');
    const tracing = require('../../src/temporal/tracing') as typeof import('../../src/temporal/tracing');
    const off = { OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318/v1/metrics' };
    expect(tracing.clientTracingInterceptors(off)).toBeNull();
    expect(tracing.workerTracing(off)).toBeNull();
    expect(tracing.startTracing('anybatch-worker', { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBeNull();
    await tracing.flushTracing();
    await tracing.shutdownTracing();
  });
  expect(loaded).toEqual([]);
  for (const name of packages) jest.dontMock(name);
});
