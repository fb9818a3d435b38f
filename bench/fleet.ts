/**
 * Fleet benchmark: many batches in flight on one worker against the sandbox, on either batch workflow type.
 *
 *   node dist/bench/fleet.js [--workflow batchJob|batchWorkflow] [--batches 1000] [--requests 2] [--poll 30s]
 *                            [--run-seconds 360] [--concurrency 16] [--sample 20]
 *   node dist/bench/fleet.js --mode short [--requests 4] [--run-seconds 60] [--poll 1s]
 *
 * Fleet mode (the default) starts a dev server, the sandbox and one worker process, then creates `--batches` small
 * batches (polled every `--poll`) through the public API, on the workflow type `--workflow` (default `batchJob`;
 * set as ANYBATCH_WORKFLOW_TYPE for this process's createBatch calls, and checked on the batches). The sandbox runs
 * each batch for about `--run-seconds` after it is created, so every batch waits at once for a while. Prints: the
 * time (and rate) to start them all; the worker's CPU (share of one core) and RSS while they all wait; the history
 * events each batch writes per hour of waiting (a `--sample` of batches, their history length at the start and end of
 * the all-waiting window, every continue-as-new run counted); the time until all are complete; and a check that every
 * batch completed with every result written (its output + error lines, read back, cover each of its requests once).
 * The all-waiting window starts one poll interval (plus 5 s) after the last batch is accepted, so every batch has
 * seen its batch `in_progress`, and ends 5 s before the first batch can finish at the sandbox. The worker's CPU and
 * RSS are sampled from /proc every 2 s.
 *
 * Short mode creates one batch of `--requests` requests that runs about `--run-seconds` (60) at the sandbox, polled
 * every `--poll` (1 s), once on `batchWorkflow` and then once on `batchJob`, and prints each one's total history
 * events (every run's, continue-as-new included) and wall time (createBatch called to the workflow's result).
 *
 * Each mode ends with a Markdown block for the README: the machine line, then the table. Progress goes to stderr.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createBatch, loadBatch, resultLinesOf } from '../src/api';
import { durationMs } from '../src/options';
import { startSandboxProcess, startTemporal, startWorkerProcess } from './harness';
import type { Service } from './harness';
import type { DevServer } from '../src/temporal/devserver';
import { writeInput } from './inputs';

const WORKFLOW_TYPES = ['batchJob', 'batchWorkflow'] as const;
type WorkflowType = (typeof WORKFLOW_TYPES)[number];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function positive(name: string, fallback: number): number {
  const value = Number(arg(name, String(fallback)));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number (got ${arg(name, '')})`);
  return value;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) and RSS (MB) of a process, from /proc. */
function sampleProcess(pid: number): { cpuSeconds: number; rssMb: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at index 2: utime is field 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return { cpuSeconds, rssMb: rssKb / 1024 };
}

interface Sample {
  at: number;
  cpuSeconds: number;
  rssMb: number;
}

/** CPU share of one core and RSS figures over the samples taken between two moments. */
function window(samples: Sample[], from: number, to: number): { cpuPercent: number; rssAvgMb: number; rssPeakMb: number; seconds: number } {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  if (inside.length < 2) return { cpuPercent: NaN, rssAvgMb: NaN, rssPeakMb: NaN, seconds: 0 };
  const first = inside[0];
  const last = inside[inside.length - 1];
  const seconds = (last.at - first.at) / 1000;
  return {
    cpuPercent: (100 * (last.cpuSeconds - first.cpuSeconds)) / seconds,
    rssAvgMb: inside.reduce((a, s) => a + s.rssMb, 0) / inside.length,
    rssPeakMb: Math.max(...inside.map((s) => s.rssMb)),
    seconds,
  };
}

/** The machine, for the README: cores, CPU model (from /proc/cpuinfo), RAM, Node version. */
function machineLine(): string {
  let model = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    // not Linux: os.cpus() says it
  }
  return `${os.cpus().length} cores (${model}), ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB RAM, Node ${process.version}`;
}

function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const log = (message: string) => process.stderr.write(`fleet: ${message}\n`);

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

interface History {
  /** Events over every run of the workflow (the current one and those it continued as new from). */
  events: number;
  runs: number;
  type: string;
  status: string;
  at: number;
}

/** A workflow's history events over all its runs: the latest run's, plus each earlier run found through continue-as-new. */
async function historyOf(client: Client, workflowId: string): Promise<History> {
  const latest = await client.workflow.getHandle(workflowId).describe();
  const at = Date.now();
  let events = latest.historyLength;
  let runs = 1;
  let runId = latest.runId;
  for (;;) {
    // A run started by continue-as-new names the run it continues in its first event.
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      maximumPageSize: 1,
    });
    const previous = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) break;
    events += (await client.workflow.getHandle(workflowId, previous).describe()).historyLength;
    runs += 1;
    runId = previous;
  }
  return { events, runs, type: latest.type, status: latest.status.name, at };
}

interface ResultCheck {
  completed: boolean;
  /** Output + error lines read back. */
  lines: number;
  /** Every request has exactly one line (distinct custom_ids, as many as requests). */
  complete: boolean;
}

/** Reads a batch's record and its result files back (through the public API, wherever the store is). */
async function checkResults(client: Client, id: string, requests: number): Promise<ResultCheck> {
  const batch = await loadBatch(id, { temporal: { client } });
  const ids = new Set<string>();
  let lines = 0;
  if (batch.anybatch.results) {
    for await (const line of resultLinesOf(batch)) {
      lines += 1;
      ids.add(line.custom_id);
    }
  }
  return { completed: batch.status === 'completed', lines, complete: lines === requests && ids.size === requests };
}

interface Stack {
  dir: string;
  taskQueue: string;
  temporal: DevServer;
  sandbox: Service;
  worker: Service;
  connection: Connection;
  client: Client;
  input: string;
  samples: Sample[];
  sample(): void;
  stop(): Promise<number>;
}

/** Dev server, sandbox (each batch runs `runSeconds` there), one worker sampled every 2 s, a client and the input. */
async function startStack(requests: number, runSeconds: number): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-fleet-'));
  const home = path.join(dir, 'home');
  const taskQueue = 'fleet';
  process.env.ANYBATCH_HOME = home;
  const started: { temporal?: DevServer; sandbox?: Service; worker?: Service } = {};
  try {
    started.temporal = await startTemporal(dir);
    // Each batch takes `runSeconds` at the sandbox: its requests run at requests/runSeconds per second.
    started.sandbox = await startSandboxProcess(dir, ['--rate', String(requests / runSeconds), '--validation-ms', '1000']);
    const env = { TEMPORAL_ADDRESS: started.temporal.address, ANYBATCH_HOME: home, ANYBATCH_TASK_QUEUE: taskQueue };
    started.worker = await startWorkerProcess(dir, env);
  } catch (err) {
    await started.worker?.stop();
    await started.sandbox?.stop();
    await started.temporal?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const { temporal, sandbox, worker } = started as Required<typeof started>;
  const pid = worker.child.pid!;
  const samples: Sample[] = [];
  const sample = () => {
    try {
      samples.push({ at: Date.now(), ...sampleProcess(pid) });
    } catch {
      // the worker is gone; the run fails below
    }
  };
  sample();
  const sampler = setInterval(sample, 2000);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const input = path.join(dir, 'input.jsonl');
  await writeInput(input, Infinity, requests);
  let stopped = false;
  let workerPeak = NaN;
  return {
    dir,
    taskQueue,
    temporal,
    sandbox,
    worker,
    connection,
    client,
    input,
    samples,
    sample,
    async stop() {
      if (stopped) return workerPeak;
      stopped = true;
      clearInterval(sampler);
      if (worker.child.exitCode === null) workerPeak = await worker.stop();
      await connection.close();
      await sandbox.stop();
      await temporal.stop();
      fs.rmSync(dir, { recursive: true, force: true });
      return workerPeak;
    },
  };
}

/** Makes this process's createBatch calls start `type`. */
function chooseWorkflowType(type: WorkflowType): void {
  process.env.ANYBATCH_WORKFLOW_TYPE = type;
}

function parseWorkflowType(value: string): WorkflowType {
  if (!(WORKFLOW_TYPES as readonly string[]).includes(value)) throw new Error(`--workflow must be one of ${WORKFLOW_TYPES.join(', ')} (got ${value})`);
  return value as WorkflowType;
}

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

async function fleet(): Promise<void> {
  const workflowType = parseWorkflowType(arg('workflow', 'batchJob'));
  const batches = Math.floor(positive('batches', 1000));
  const requests = Math.floor(positive('requests', 2));
  const poll = arg('poll', '30s');
  const pollMs = durationMs(poll, '--poll', 30_000);
  const runSeconds = positive('run-seconds', 360);
  const concurrency = Math.floor(positive('concurrency', 16));
  const sampleSize = Math.min(batches, Math.floor(positive('sample', 20)));

  const stack = await startStack(requests, runSeconds);
  const { client, taskQueue, samples } = stack;
  try {
    chooseWorkflowType(workflowType);
    const idle = samples[0];
    const started = Date.now();
    // Only the ids are kept (about 30 bytes each), not the batch objects.
    const ids: string[] = [];
    let next = 0;
    let firstCreatedAt = Infinity;
    const submitOne = async (): Promise<void> => {
      while (next < batches) {
        next += 1;
        const batch = await createBatch('openai', stack.input, '/v1/chat/completions', {
          temporal: { client },
          taskQueue,
          apiBase: `${stack.sandbox.url}/v1`,
          apiKey: 'fleet',
          pollInterval: poll,
        });
        firstCreatedAt = Math.min(firstCreatedAt, Date.now());
        ids.push(batch.id);
        if (ids.length === 1) {
          const type = (await client.workflow.getHandle(batch.id).describe()).type;
          if (type !== workflowType) throw new Error(`asked for ${workflowType}, but batch ${batch.id} runs ${type}`);
          log(`batch ${batch.id} runs ${type}, as asked`);
        }
        if (ids.length % 100 === 0) log(`${ids.length} batches in flight after ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
    };
    await Promise.all(
      Array.from({ length: concurrency }, () =>
        submitOne().catch((err: unknown) => {
          next = batches; // the other lanes stop too
          throw err;
        }),
      ),
    );
    const allStarted = Date.now();

    // All wait from one poll after the last was accepted (each has seen its batch in_progress) until shortly before
    // the first one can end at the sandbox.
    const waitStart = allStarted + pollMs + 5000;
    const waitEnd = firstCreatedAt + runSeconds * 1000 - 5000;
    if (waitEnd - waitStart < 30_000) {
      const needed = Math.ceil((allStarted - firstCreatedAt + pollMs + 40_000) / 1000);
      throw new Error(`--run-seconds ${runSeconds} leaves ${((waitEnd - waitStart) / 1000).toFixed(0)} s with all batches waiting (starting took ${((allStarted - started) / 1000).toFixed(0)} s); use at least ${needed}`);
    }
    log(`all ${batches} in flight after ${((allStarted - started) / 1000).toFixed(0)} s; all-waiting window ${new Date(waitStart).toISOString()} .. ${new Date(waitEnd).toISOString()}`);

    // History of a sample spread over the fleet, at the start and the end of the window.
    const sampleIds = Array.from({ length: sampleSize }, (_, i) => ids[Math.floor((i * ids.length) / sampleSize)]);
    await sleep(waitStart - Date.now());
    const before = await Promise.all(sampleIds.map((id) => historyOf(client, id)));
    await sleep(waitEnd - Date.now());
    const after = await Promise.all(sampleIds.map((id) => historyOf(client, id)));
    const runningAtEnd = (await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`)).count;
    if (runningAtEnd !== batches) log(`warning: ${batches - runningAtEnd} batches were no longer running at the end of the all-waiting window`);
    const perHour = before.map((b, i) => (after[i].events - b.events) / ((after[i].at - b.at) / 3_600_000));
    const windowEvents = before.map((b, i) => after[i].events - b.events);
    const historyWindowSeconds = mean(before.map((b, i) => (after[i].at - b.at) / 1000));
    const wrongType = [...before, ...after].filter((h) => h.type !== workflowType);
    if (wrongType.length > 0) throw new Error(`sampled batches run ${wrongType[0].type}, not ${workflowType}`);
    log(`history per sampled batch over ${historyWindowSeconds.toFixed(0)} s: ${windowEvents.join(' ')} events`);

    // Until all are complete (a deadline keeps a stuck batch from hanging the bench).
    const deadline = firstCreatedAt + runSeconds * 1000 + Math.max(600_000, runSeconds * 1000);
    const running = async () => (await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`)).count;
    let left = await running();
    let lastReport = 0;
    while (left > 0 && Date.now() < deadline) {
      if (Date.now() - lastReport > 30_000) {
        log(`${left} batches still running`);
        lastReport = Date.now();
      }
      await sleep(5000);
      left = await running();
    }
    const allDone = Date.now();
    stack.sample();
    if (left > 0) log(`warning: ${left} batches still running at the deadline; giving up waiting`);

    const closed = await Promise.all(sampleIds.map((id) => historyOf(client, id)));
    const otherType = WORKFLOW_TYPES.find((t) => t !== workflowType)!;
    const ofOtherType = (await client.workflow.count(`TaskQueue = "${taskQueue}" AND WorkflowType = "${otherType}"`)).count;

    let completed = 0;
    let complete = 0;
    let lines = 0;
    const bad: string[] = [];
    await forEachLimit(ids, concurrency, async (id) => {
      const check = await checkResults(client, id, requests).catch((err: unknown) => {
        log(`batch ${id}: results unreadable: ${err instanceof Error ? err.message : String(err)}`);
        return { completed: false, lines: 0, complete: false };
      });
      if (check.completed) completed += 1;
      if (check.complete) complete += 1;
      lines += check.lines;
      if ((!check.completed || !check.complete) && bad.length < 10) bad.push(`${id} (${check.completed ? 'completed' : 'not completed'}, ${check.lines} lines)`);
    });
    if (bad.length > 0) log(`batches not completed or missing results (first ${bad.length}): ${bad.join(', ')}`);

    const steady = window(samples, waitStart, waitEnd);
    const submitting = window(samples, started, allStarted);
    const overall = window(samples, started, allDone);
    const workerPeak = await stack.stop();

    const rows: string[][] = [
      ['workflow type (checked on the batches)', `\`${workflowType}\`${ofOtherType > 0 ? ` (but ${ofOtherType} ran ${otherType})` : ''}`],
      ['time to start all (created and accepted)', `${fmt((allStarted - started) / 1000)} s (${fmt(batches / ((allStarted - started) / 1000))} batches/s)`],
      ['worker CPU while starting', `${fmt(submitting.cpuPercent)}% of one core`],
      [`worker CPU while all ${batches} wait (${fmt(steady.seconds, 0)} s)`, `${fmt(steady.cpuPercent)}% of one core`],
      ['worker RSS while all wait (avg / peak)', `${fmt(steady.rssAvgMb, 0)} MB / ${fmt(steady.rssPeakMb, 0)} MB`],
      ['worker RSS idle before the fleet', `${fmt(idle.rssMb, 0)} MB`],
      ['worker peak RSS over the run', `${fmt(Math.max(workerPeak, overall.rssPeakMb), 0)} MB`],
      [
        `history events per batch per hour of waiting (${sampleSize} batches, ${fmt(historyWindowSeconds, 0)} s)`,
        `${fmt(mean(perHour))} (min ${fmt(Math.min(...perHour))}, max ${fmt(Math.max(...perHour))}; ${fmt(mean(windowEvents))} events in the window)`,
      ],
      [
        'history events per batch, whole batch (same sample)',
        `${fmt(mean(closed.map((h) => h.events)), 0)} (max ${Math.max(...closed.map((h) => h.events))}; runs: max ${Math.max(...closed.map((h) => h.runs))})`,
      ],
      ['time until all complete', `${fmt((allDone - started) / 1000, 0)} s${left > 0 ? ` (${left} still running at the deadline)` : ''}`],
      ['batches completed / with every result written', `${completed} / ${complete} of ${batches} (${lines} result lines, expected ${batches * requests})`],
      ['bench process peak RSS', `${fmt(process.resourceUsage().maxRSS / 1024, 0)} MB`],
    ];
    console.log(`\nMachine: ${machineLine()}\n`);
    console.log(`\`${workflowType}\`: ${batches} batches of ${requests} requests, polled every ${poll}, each ${runSeconds} s at the sandbox, one worker\n`);
    console.log(markdownTable(['measure', 'value'], rows));
    if (completed !== batches || complete !== batches || lines !== batches * requests || ofOtherType > 0 || left > 0) process.exitCode = 1;
  } finally {
    await stack.stop();
  }
}

interface ShortRun {
  type: WorkflowType;
  history: History;
  seconds: number;
  check: ResultCheck;
}

async function short(): Promise<void> {
  const requests = Math.floor(positive('requests', 4));
  const runSeconds = positive('run-seconds', 60);
  const poll = arg('poll', '1s');
  const stack = await startStack(requests, runSeconds);
  const { client, taskQueue } = stack;
  const runs: ShortRun[] = [];
  try {
    for (const type of ['batchWorkflow', 'batchJob'] as const) {
      chooseWorkflowType(type);
      const started = Date.now();
      const batch = await createBatch('openai', stack.input, '/v1/chat/completions', {
        temporal: { client },
        taskQueue,
        apiBase: `${stack.sandbox.url}/v1`,
        apiKey: 'fleet',
        pollInterval: poll,
      });
      const handle = client.workflow.getHandle(batch.id);
      const described = (await handle.describe()).type;
      if (described !== type) throw new Error(`asked for ${type}, but batch ${batch.id} runs ${described}`);
      log(`${type}: batch ${batch.id} created in ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for it`);
      // The result follows continue-as-new runs; a deadline keeps a stuck batch from hanging the bench.
      const limitMs = runSeconds * 3000 + 120_000;
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        handle.result().then(
          () => 'done',
          (err: unknown) => `failed: ${err instanceof Error ? err.message : String(err)}`,
        ),
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`still running after ${limitMs / 1000} s`), limitMs))),
      ]);
      clearTimeout(timer);
      const seconds = (Date.now() - started) / 1000;
      if (outcome !== 'done') log(`${type}: batch ${batch.id} ${outcome}`);
      const history = await historyOf(client, batch.id);
      const check = await checkResults(client, batch.id, requests).catch(() => ({ completed: false, lines: 0, complete: false }));
      log(`${type}: ${history.events} history events in ${history.runs} run(s), ${seconds.toFixed(1)} s, ${check.lines} result lines`);
      runs.push({ type, history, seconds, check });
    }
  } finally {
    await stack.stop();
  }
  console.log(`\nMachine: ${machineLine()}\n`);
  console.log(`One batch of ${requests} requests, about ${runSeconds} s at the sandbox, polled every ${poll}, one worker\n`);
  console.log(
    markdownTable(
      ['workflow type', 'history events (runs)', 'wall time', 'completed / result lines'],
      runs.map((r) => [
        `\`${r.type}\``,
        `${r.history.events} (${r.history.runs})`,
        `${r.seconds.toFixed(1)} s`,
        `${r.check.completed ? 'yes' : 'NO'} / ${r.check.lines} of ${requests}`,
      ]),
    ),
  );
  if (runs.some((r) => !r.check.completed || !r.check.complete)) process.exitCode = 1;
}

async function main(): Promise<void> {
  const mode = arg('mode', 'fleet');
  if (mode === 'fleet') await fleet();
  else if (mode === 'short') await short();
  else throw new Error(`--mode must be fleet or short (got ${mode})`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
