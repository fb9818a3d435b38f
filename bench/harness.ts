/** Processes for the benchmarks: a Temporal dev server, the sandbox and a worker, each measured on its own. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, startDevServer, stopProcess } from '../src/temporal/devserver';
import type { DevServer } from '../src/temporal/devserver';
import { packageRoot } from '../src/temporal/tools';

const ROOT = packageRoot();
const CLIENT = path.join(ROOT, 'dist', 'client.js');
const WORKER = path.join(ROOT, 'dist', 'worker.js');
const RSS_REPORT = path.join(ROOT, 'bench', 'rss-report.js');

export interface Measured {
  code: number | null;
  seconds: number;
  /** Peak resident set size in MB. */
  peakRssMb: number;
  stdout: string;
  stderr: string;
}

let rssFiles = 0;
function rssFile(dir: string): string {
  return path.join(dir, `rss-${process.pid}-${rssFiles++}`);
}

function readRss(file: string): number {
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) / 1024 : NaN;
}

/** Runs a Node script to completion, with its wall time and peak RSS. */
export function measureNode(script: string, args: string[], env: NodeJS.ProcessEnv, dir: string): Promise<Measured> {
  const file = rssFile(dir);
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['-r', RSS_REPORT, script, ...args], { env: { ...process.env, ...env, BENCH_RSS_FILE: file }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMb: readRss(file), stdout, stderr })),
  );
}

/** Runs a command and its peak RSS (via GNU time when present), e.g. a Python peer. */
export function measureCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  const timeBin = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  const started = process.hrtime.bigint();
  const child = timeBin
    ? spawn(timeBin, ['-f', '__RSS_KB__=%M', cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const kb = /__RSS_KB__=(\d+)/.exec(stderr)?.[1];
      resolve({ code, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMb: kb ? Number(kb) / 1024 : NaN, stdout, stderr });
    }),
  );
}

export interface Service {
  url: string;
  child: ChildProcess;
  /** Stops the process and returns its peak RSS in MB. */
  stop(): Promise<number>;
}

async function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${seen}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ${pattern}: ${seen}`)));
  });
}

function service(child: ChildProcess, url: string, file: string): Service {
  return {
    url,
    child,
    async stop() {
      await stopProcess(child);
      return readRss(file);
    },
  };
}

export async function startSandboxProcess(dir: string, args: string[] = []): Promise<Service> {
  const port = await freePort();
  const file = rssFile(dir);
  const child = spawn(process.execPath, ['-r', RSS_REPORT, CLIENT, 'sandbox', '--port', String(port), ...args], {
    env: { ...process.env, BENCH_RSS_FILE: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, /listening on/);
  return service(child, `http://127.0.0.1:${port}`, file);
}

/** Extra Node flags for benchmarked workers, to profile them: BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
function workerNodeArgs(): string[] {
  return (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

export async function startWorkerProcess(dir: string, env: NodeJS.ProcessEnv): Promise<Service> {
  const file = rssFile(dir);
  const child = spawn(process.execPath, [...workerNodeArgs(), '-r', RSS_REPORT, WORKER], {
    env: { ...process.env, ANYBATCH_LOG_LEVEL: 'WARN', ...env, BENCH_RSS_FILE: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, /anybatch worker: task queue/);
  return service(child, '', file);
}

export async function startTemporal(dir: string): Promise<DevServer> {
  return startDevServer({ port: await freePort(), uiPort: null, dbFile: path.join(dir, 'temporal.db'), logFile: path.join(dir, 'temporal.log') });
}

export { CLIENT };
