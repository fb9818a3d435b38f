/**
 * `npm run bench:gateway`: the HTTP gateway (`anybatch serve`, src/gateway) with a large batch, driven by the official
 * OpenAI Node SDK: upload an N MB chat-completions JSONL (default 200), create the batch, poll it until it ends, then
 * stream its output file (and error file, if any) back to disk. The gateway runs as a process of its own, beside a
 * Temporal dev server, the sandbox and a worker (each its own process too), so its resident memory is its own: read
 * from /proc/<pid>/status (VmRSS, and VmHWM for the peak) every 100 ms. Measured figures only; nothing is asserted.
 *
 *   npm run build && node dist/bench/gateway.js [--mb 200] [--rate 1000000]
 *
 * --mb     input size in MB (10^6 bytes), written a block of lines at a time to disk, never held in memory
 * --rate   the sandbox's requests per second per batch (`anybatch sandbox --rate`)
 *
 * The input's lines are bench/inputs.ts's realistic chat requests (about 1.3 KB each), so a large input is past the
 * sandbox's openai limits (50,000 requests / 200 MiB per batch, as OpenAI's): the gateway's batch splits it into
 * several provider batches on its own, and the output says how many.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import OpenAI from 'openai';
import { freePort, stopProcess } from '../src/temporal/devserver';
import { CLIENT, startSandboxProcess, startTemporal, startWorkerProcess } from './harness';
import type { Service } from './harness';
import { MB, writeInput } from './inputs';

const MiB = MB;
const SANDBOX_MAX_REQUESTS = 50_000;
const SANDBOX_MAX_BYTES = 200 * MiB;
const TERMINAL = ['completed', 'failed', 'expired', 'cancelled'];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function log(line: string): void {
  process.stderr.write(`bench:gateway: ${line}\n`);
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/** VmRSS and VmHWM (peak) of a process in MB (2^20 bytes), from /proc; NaN once it is gone. */
function memory(pid: number): { rss: number; hwm: number } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** Samples a process's memory every 100 ms, keeping only the highest VmRSS of each phase (nothing grows). */
class MemorySampler {
  private phase = 'start';
  readonly peaks = new Map<string, number>();
  last = { rss: NaN, hwm: NaN };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  sample(): { rss: number; hwm: number } {
    const m = memory(this.pid);
    if (Number.isFinite(m.rss)) {
      this.last = m;
      this.peaks.set(this.phase, Math.max(this.peaks.get(this.phase) ?? 0, m.rss));
    }
    return m;
  }

  enter(phase: string): void {
    this.sample();
    this.phase = phase;
    this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** `anybatch serve` as a child process; resolves with its base URL once it prints where it listens. */
async function startGateway(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; base: string; stderr: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLIENT, 'serve', '--port', String(port), '--default-provider', 'openai', '--poll-interval', '1s'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Only the last few KB of its stderr, for a failure's message.
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-8192)));
  const base = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the gateway did not print where it listens within 60 s: ${seen}${tail}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (seen.length < 65536) seen += d.toString();
      const m = /anybatch gateway listening on (http:\/\/\S+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited with ${code} before listening: ${seen}${tail}`));
    });
  });
  child.stdout!.resume();
  return { child, base, stderr: () => tail };
}

/** Counts the bytes and lines going through, holding nothing. */
function counter(): Transform & { bytes: number; lines: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      t.bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) t.lines++;
      done(null, chunk);
    },
  }) as Transform & { bytes: number; lines: number };
  t.bytes = 0;
  t.lines = 0;
  return t;
}

/** Streams a gateway file's content to `target`; its bytes, lines and seconds. */
async function download(openai: OpenAI, fileId: string, target: string): Promise<{ bytes: number; lines: number; seconds: number }> {
  const started = process.hrtime.bigint();
  const response = await openai.files.content(fileId);
  if (!response.body) throw new Error(`GET /v1/files/${fileId}/content has no body`);
  const count = counter();
  await pipeline(Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>), count, fs.createWriteStream(target));
  return { bytes: count.bytes, lines: count.lines, seconds: seconds(started) };
}

function table(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  return [line(head), `| ${width.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const rssMb = (value: number | undefined) => (value !== undefined && Number.isFinite(value) ? `${value.toFixed(0)} MiB` : 'n/a');

/** Everything started here, stopped in reverse order, once, also on a failure or a signal. */
const cleanups: Array<[string, () => Promise<unknown> | unknown]> = [];
let cleaning: Promise<void> | null = null;
/** The last lines the gateway wrote to stderr, shown when the bench fails. */
let gatewayStderr: (() => string) | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const [what, fn] of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log(`cleanup of ${what} failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}

async function main(): Promise<void> {
  const inputMb = Number(arg('mb', '200'));
  const rate = arg('rate', '1000000');
  if (!(inputMb > 0)) throw new Error(`--mb takes a positive number (got ${arg('mb', '')})`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-bench-gateway-'));
  cleanups.push(['the temp folder', () => fs.rmSync(dir, { recursive: true, force: true })]);
  // Every child's temporary files (the gateway's uploads, the sandbox's batches) under `dir`, so they go with it even
  // if a child is killed before it removes its own.
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp);
  process.env.TMPDIR = tmp;

  const input = path.join(dir, 'input.jsonl');
  log(`writing a ${inputMb} MB input to ${input}`);
  const requests = await writeInput(input, inputMb * 1e6);
  const inputBytes = fs.statSync(input).size;
  const expectedParts = Math.max(Math.ceil(requests / SANDBOX_MAX_REQUESTS), Math.ceil(inputBytes / SANDBOX_MAX_BYTES));

  log('starting Temporal, the sandbox and a worker');
  const temporal = await startTemporal(dir);
  cleanups.push(['Temporal', () => temporal.stop()]);
  const sandbox = await startSandboxProcess(dir, ['--rate', rate, '--validation-ms', '50']);
  cleanups.push(['the sandbox', () => sandbox.stop()]);
  const env = {
    TEMPORAL_ADDRESS: temporal.address,
    ANYBATCH_HOME: path.join(dir, 'home'),
    ANYBATCH_TASK_QUEUE: 'bench-gateway',
    OPENAI_BASE_URL: `${sandbox.url}/openai/v1`,
    TMPDIR: tmp,
  };
  const worker: Service = await startWorkerProcess(dir, env);
  let workerPeak = NaN;
  cleanups.push(['the worker', async () => (workerPeak = await worker.stop())]);

  log('starting the gateway (anybatch serve)');
  const gateway = await startGateway({ ...process.env, ANYBATCH_LOG_LEVEL: 'WARN', ...env });
  gatewayStderr = gateway.stderr;
  cleanups.push(['the gateway', () => stopProcess(gateway.child)]);
  const pid = gateway.child.pid!;
  const sampler = new MemorySampler(pid);
  cleanups.push(['the memory sampler', () => sampler.stop()]);

  const openai = new OpenAI({ apiKey: 'sk-bench-gateway', baseURL: `${gateway.base}/v1`, maxRetries: 0, timeout: 60 * 60 * 1000 });
  // A first request, so "before" is a gateway that has served (its routes, Temporal connection and store made).
  await openai.batches.list({ limit: 1 });
  await new Promise((r) => setTimeout(r, 1000));
  const before = sampler.sample().rss;

  log(`uploading ${mb(inputBytes)} MB (${requests} requests)`);
  sampler.enter('upload');
  let started = process.hrtime.bigint();
  const file = await openai.files.create({ file: fs.createReadStream(input), purpose: 'batch' });
  const uploadSeconds = seconds(started);

  log(`creating the batch from ${file.id}`);
  sampler.enter('create');
  started = process.hrtime.bigint();
  let batch = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  const createSeconds = seconds(started);

  log(`polling ${batch.id} until it ends`);
  sampler.enter('batch');
  let lastStatus = '';
  while (!TERMINAL.includes(batch.status)) {
    await new Promise((r) => setTimeout(r, 1000));
    batch = await openai.batches.retrieve(batch.id);
    const status = `${batch.status} ${batch.request_counts?.completed ?? 0}/${batch.request_counts?.total ?? 0}`;
    if (status !== lastStatus) log(`  ${status}`);
    lastStatus = status;
  }
  const batchSeconds = seconds(started);
  const providerBatches = (batch as unknown as { anybatch?: { provider_batches?: unknown[] } }).anybatch?.provider_batches?.length ?? NaN;

  sampler.enter('download');
  const output = batch.output_file_id ? await download(openai, batch.output_file_id, path.join(dir, 'output.jsonl')) : null;
  const errors = batch.error_file_id ? await download(openai, batch.error_file_id, path.join(dir, 'errors.jsonl')) : null;
  sampler.enter('after');
  await new Promise((r) => setTimeout(r, 2000));
  const after = sampler.sample();
  sampler.stop();

  await cleanup();

  const cpus = os.cpus();
  console.log(
    `anybatch gateway bench: ${cpus.length} CPUs (${cpus[0]?.model ?? 'cpu'}), ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log(
    `input: ${requests} chat requests, ${mb(inputBytes)} MB; sandbox openai limits ${SANDBOX_MAX_REQUESTS} requests / ${SANDBOX_MAX_BYTES / MiB} MiB per batch: ` +
      (expectedParts > 1 ? `past them, so anybatch split it into ${providerBatches} provider batches` : `within them (${providerBatches} provider batch, no split)`) +
      `; sandbox --rate ${rate}; gateway --poll-interval 1s`,
  );
  console.log(`batch ${batch.id}: ${batch.status}, request_counts ${JSON.stringify(batch.request_counts)}\n`);
  const rows: string[][] = [
    ['input', `${mb(inputBytes)} MB`],
    ['requests', String(requests)],
    ['provider batches (split)', String(providerBatches)],
    ['upload (files.create: receive, validate, store)', `${uploadSeconds.toFixed(2)} s, ${(inputBytes / 1e6 / uploadSeconds).toFixed(1)} MB/s`],
    ['batches.create (validate, stage, submit)', `${createSeconds.toFixed(2)} s`],
    ['batch (batches.create until terminal)', `${batchSeconds.toFixed(2)} s`],
    ['download output (files.content)', output ? `${output.seconds.toFixed(2)} s, ${(output.bytes / 1e6 / output.seconds).toFixed(1)} MB/s` : 'no output file'],
    ['output', output ? `${mb(output.bytes)} MB, ${output.lines} lines` : 'n/a'],
    ['errors', errors ? `${mb(errors.bytes)} MB, ${errors.lines} lines, ${errors.seconds.toFixed(2)} s` : 'no error file'],
    ['gateway RSS before (idle, after one request)', rssMb(before)],
    ['gateway RSS peak sampled: upload / create / batch / download', ['upload', 'create', 'batch', 'download'].map((p) => rssMb(sampler.peaks.get(p))).join(' / ')],
    ['gateway RSS peak (VmHWM)', rssMb(after.hwm)],
    ['gateway RSS after (2 s after the download)', rssMb(after.rss)],
    ['worker peak RSS (context)', rssMb(workerPeak)],
  ];
  console.log(table(['measure', 'value'], rows));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

main().catch(async (err: unknown) => {
  console.error(err);
  const tail = gatewayStderr?.();
  if (tail) console.error(`the gateway's stderr (last lines):\n${tail}`);
  await cleanup();
  process.exitCode = 1;
});
