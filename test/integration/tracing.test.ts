/**
 * Traces: a worker process and a CLI started with the standard OTEL_* variables export OTLP spans to a receiver of
 * the test's own (a node http server on 127.0.0.1), and a batch's client, workflow and activity spans make one trace,
 * carrying `anybatch.batch_id` and `anybatch.provider`, and never the API key. The committed histories replay with the
 * OpenTelemetry workflow interceptor too (it writes no command).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { eventually, quietRuntime, startTestEnv, writeChatInput, type TestEnv } from '../support/env';
import { runCli } from '../support/cli';
import { HISTORIES_DIR } from '../support/histories';
import { BATCH_ID_ATTRIBUTE, PROVIDER_ATTRIBUTE, WORKFLOW_INTERCEPTORS_MODULE } from '../../src/temporal/tracing';

const WORKER = path.join(__dirname, '..', '..', 'dist', 'worker.js');
const API_KEY = 'sk-tracing-test-4f1c9a0b7e2d';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: OtlpAttribute[];
}
interface OtlpRequest {
  resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[] }[];
}
/** A span as the test reads it: its service and its attributes as a plain object. */
interface Span {
  service: string;
  scope: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, string | number | boolean | undefined>;
}

interface Receiver {
  url: string;
  posts: { path: string; contentType: string; body: Buffer }[];
  close(): Promise<void>;
}

/** A minimal OTLP/HTTP receiver: keeps every POST, answers 200 with an empty response of the request's encoding. */
function startReceiver(): Promise<Receiver> {
  const posts: Receiver['posts'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = String(req.headers['content-type'] ?? '');
      if (req.method === 'POST') posts.push({ path: req.url ?? '', contentType, body: Buffer.concat(chunks) });
      const json = contentType.includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : undefined);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, posts, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

function plain(value: OtlpValue): string | number | boolean | undefined {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.boolValue ?? value.doubleValue;
}

function attributes(list: OtlpAttribute[] | undefined): Span['attributes'] {
  return Object.fromEntries((list ?? []).map((a) => [a.key, plain(a.value)]));
}

/** Every span the receiver got as OTLP/JSON. */
function jsonSpans(receiver: Receiver): Span[] {
  return receiver.posts
    .filter((p) => p.path === '/v1/traces' && p.contentType.includes('json'))
    .flatMap((p) => {
      const request = JSON.parse(p.body.toString('utf8')) as OtlpRequest;
      return (request.resourceSpans ?? []).flatMap((rs) => {
        const service = String(attributes(rs.resource?.attributes)['service.name']);
        return (rs.scopeSpans ?? []).flatMap((ss) =>
          (ss.spans ?? []).map((s) => ({
            service,
            scope: ss.scope?.name ?? '',
            name: s.name,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            attributes: attributes(s.attributes),
          })),
        );
      });
    });
}

let env: TestEnv;
let receiver: Receiver;
let worker: ChildProcess | null = null;
let batchId = '';

beforeAll(async () => {
  env = await startTestEnv({}, { worker: false });
  receiver = await startReceiver();
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await receiver?.close();
  await env?.teardown();
});

test("a batch's client, workflow and activity spans share one trace, carry its id and provider, and no secret", async () => {
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100' };
  const started = spawn(process.execPath, [WORKER], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, ANYBATCH_TASK_QUEUE: env.taskQueue, ANYBATCH_HOME: env.home, ANYBATCH_LOG_LEVEL: 'WARN', ...otel },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  worker = started;
  let stderr = '';
  started.stderr!.on('data', (d) => (stderr += d));

  const input = writeChatInput(env.home, 5);
  const run = await runCli(env, ['create', input, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--api-key', API_KEY, '--api-base', env.apiBase, '--poll-interval', '200ms', '--wait', '--json'], otel);
  expect(run.stderr).not.toContain('Error');
  expect(run.code).toBe(0);
  batchId = (JSON.parse(run.stdout) as { id: string }).id;

  // The workflow's span ends with it, and reaches the receiver at the worker's next export.
  let spans: Span[] = [];
  await eventually(() => {
    spans = jsonSpans(receiver);
    return spans.some((s) => s.name === 'RunWorkflow:batchJob' && s.attributes.workflowId === batchId);
  }, 30_000, 200);
  expect(stderr).toContain(`anybatch worker: OpenTelemetry traces to ${receiver.url}/v1/traces (http/json)`);

  // The client's start of the workflow: the trace's root.
  const start = spans.find((s) => s.name === 'StartWorkflow:batchJob' && s.attributes.temporalWorkflowId === batchId);
  expect(start).toBeDefined();
  expect(start!.service).toBe('anybatch-client');
  expect(start!.parentSpanId).toBe('');
  expect(start!.attributes).toMatchObject({ [BATCH_ID_ATTRIBUTE]: batchId, [PROVIDER_ATTRIBUTE]: 'openai' });
  const trace = spans.filter((s) => s.traceId === start!.traceId);

  // The workflow continues it: its run is the start's child, made in the worker.
  const runWorkflow = trace.find((s) => s.name === 'RunWorkflow:batchJob')!;
  expect(runWorkflow).toBeDefined();
  expect(runWorkflow.service).toBe('anybatch-worker');
  expect(runWorkflow.parentSpanId).toBe(start!.spanId);
  expect(runWorkflow.attributes).toMatchObject({ [BATCH_ID_ATTRIBUTE]: batchId, [PROVIDER_ATTRIBUTE]: 'openai', workflowType: 'batchJob' });
  // The workflow's info is trimmed to scalars: no memo (the batch view), no search attributes.
  expect(Object.keys(runWorkflow.attributes).sort()).toEqual([BATCH_ID_ATTRIBUTE, PROVIDER_ATTRIBUTE, 'attempt', 'namespace', 'runId', 'taskQueue', 'workflowId', 'workflowType'].sort());

  // Activities: scheduled by the workflow (StartActivity, in the workflow) and run by the worker (RunActivity).
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  const runActivities = trace.filter((s) => s.name.startsWith('RunActivity:'));
  const names = runActivities.map((s) => s.name);
  for (const step of ['planParts', 'uploadPart', 'createPartBatch', 'mergeResults']) expect(names).toContain(`RunActivity:${step}`);
  for (const activity of runActivities) {
    expect(activity.service).toBe('anybatch-worker');
    expect(activity.attributes).toMatchObject({ [BATCH_ID_ATTRIBUTE]: batchId, [PROVIDER_ATTRIBUTE]: 'openai' });
    const scheduled = byId.get(activity.parentSpanId);
    expect(scheduled?.name).toBe(activity.name.replace('RunActivity:', 'StartActivity:'));
    expect(scheduled?.attributes).toMatchObject({ [BATCH_ID_ATTRIBUTE]: batchId, [PROVIDER_ATTRIBUTE]: 'openai' });
  }
  // Every span of the trace descends from the client's start.
  for (const span of trace) {
    let at: Span | undefined = span;
    while (at && at !== start) at = byId.get(at.parentSpanId);
    expect({ span: span.name, root: at?.name }).toEqual({ span: span.name, root: start!.name });
  }

  // No secret anywhere in what was exported: not the key, not the sealed credentials' field.
  const everything = receiver.posts.map((p) => p.body.toString('utf8')).join('\n');
  expect(everything).not.toContain(API_KEY);
  expect(everything).not.toContain('sealed');
  for (const span of spans) for (const v of Object.values(span.attributes)) expect(String(v)).not.toContain(API_KEY);

  // The default protocol is OTLP/HTTP protobuf: `anybatch get` describes the workflow in a span of its own.
  const before = receiver.posts.length;
  const get = await runCli(env, ['get', batchId], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  expect(get.code).toBe(0);
  const proto = receiver.posts.slice(before).filter((p) => p.contentType === 'application/x-protobuf');
  expect(proto.map((p) => p.path)).toContain('/v1/traces');
  expect(Buffer.concat(proto.map((p) => p.body)).includes(Buffer.from('DescribeWorkflow'))).toBe(true);

  // SIGTERM: the worker stops, flushing, and exits by itself (tracing holds nothing open).
  const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
  started.kill('SIGTERM');
  expect(await exited).toBe(0);
  worker = null;
});

test('with traces off (OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none), the CLI sends no span', async () => {
  expect(batchId).not.toBe('');
  const before = receiver.posts.length;
  const offs: Record<string, string>[] = [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }, { OTEL_TRACES_EXPORTER: 'none' }];
  for (const off of offs) {
    const get = await runCli(env, ['get', batchId], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...off });
    expect(get.code).toBe(0);
  }
  await new Promise((r) => setTimeout(r, 300));
  expect(receiver.posts.length).toBe(before);
});

test('an OTLP protocol that is not one stops the worker at start, naming the variable', () => {
  const run = spawnSync(process.execPath, [WORKER], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, ANYBATCH_TASK_QUEUE: env.taskQueue, ANYBATCH_HOME: env.home, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="thrift" is not an OTLP protocol');
});

test('the traced batch replays without the interceptor: it wrote no command of its own', async () => {
  quietRuntime();
  expect(batchId).not.toBe('');
  const history = await env.client.workflow.getHandle(batchId).fetchHistory();
  // SDK flags in the tasks' metadata are all the interceptor leaves.
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../src/workflows') }, history, batchId);
});

test('the committed histories, and the traced batch, replay with the OpenTelemetry workflow interceptor too', async () => {
  quietRuntime();
  const files = fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort();
  expect(files.length).toBeGreaterThan(0);
  const histories: { workflowId: string; history: unknown }[] = files.map((f) => ({ workflowId: path.basename(f, '.json'), history: JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8')) }));
  histories.push({ workflowId: batchId, history: await env.client.workflow.getHandle(batchId).fetchHistory() });
  const exported: unknown[] = [];
  const results = Worker.runReplayHistories(
    {
      workflowsPath: require.resolve('../../src/workflows'),
      interceptors: { workflowModules: [require.resolve(WORKFLOW_INTERCEPTORS_MODULE)] },
      sinks: { exporter: { export: { fn: (_info: unknown, spans: unknown) => void exported.push(spans) } } },
    },
    histories,
  );
  const failed: string[] = [];
  let replayed = 0;
  for await (const result of results) {
    replayed++;
    if (result.error) failed.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failed).toEqual([]);
  expect(replayed).toBe(files.length + 1);
  // Replaying exports nothing (the sink is not called during replay).
  expect(exported).toEqual([]);
});
