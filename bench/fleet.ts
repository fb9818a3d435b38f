/**
 * Fleet benchmark: many batches in flight on one worker against the sandbox.
 *
 *   node dist/bench/fleet.js [--batches 1000] [--requests 2] [--poll 30s] [--run-seconds 360] [--concurrency 16]
 *
 * Starts a dev server, the sandbox and one worker process, then creates `--batches` small batches (polled every
 * `--poll`) through the public API. The sandbox runs each batch for about `--run-seconds` after it is created,
 * so every batch is in flight at once for a while. Prints: the time to start them all, the worker's CPU
 * (share of one core) and RSS while they all poll, and the time until all are complete. The worker's CPU and
 * RSS are sampled from /proc every 2 s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createBatch, loadBatch } from '../src/api';
import { startSandboxProcess, startTemporal, startWorkerProcess } from './harness';
import { writeInput } from './inputs';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
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

async function main(): Promise<void> {
  const batches = Number(arg('batches', '1000'));
  const requests = Number(arg('requests', '2'));
  const poll = arg('poll', '30s');
  const runSeconds = Number(arg('run-seconds', '360'));
  const concurrency = Number(arg('concurrency', '16'));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-fleet-'));
  const home = path.join(dir, 'home');
  const taskQueue = 'fleet';
  process.env.ANYBATCH_HOME = home;
  const temporal = await startTemporal(dir);
  // Each batch takes `runSeconds` at the sandbox: its requests run at requests/runSeconds per second.
  const sandbox = await startSandboxProcess(dir, ['--rate', String(requests / runSeconds), '--validation-ms', '1000']);
  const env = { TEMPORAL_ADDRESS: temporal.address, ANYBATCH_HOME: home, ANYBATCH_TASK_QUEUE: taskQueue };
  const worker = await startWorkerProcess(dir, env);
  const pid = worker.child.pid!;
  const samples: Sample[] = [];
  const sampler = setInterval(() => {
    try {
      samples.push({ at: Date.now(), ...sampleProcess(pid) });
    } catch {
      // the worker is gone; the run fails below
    }
  }, 2000);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const input = path.join(dir, 'input.jsonl');
  await writeInput(input, Infinity, requests);

  try {
    samples.push({ at: Date.now(), ...sampleProcess(pid) });
    const idle = samples[0];
    const started = Date.now();
    const ids: string[] = [];
    let next = 0;
    let firstCreatedAt = Infinity;
    const submitOne = async (): Promise<void> => {
      while (next < batches) {
        next += 1;
        const batch = await createBatch('openai', input, '/v1/chat/completions', {
          temporal: { client },
          taskQueue,
          apiBase: `${sandbox.url}/v1`,
          apiKey: 'fleet',
          pollInterval: poll,
        });
        firstCreatedAt = Math.min(firstCreatedAt, Date.now());
        ids.push(batch.id);
        if (ids.length % 100 === 0) process.stderr.write(`fleet: ${ids.length} batches in flight after ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, submitOne));
    const allStarted = Date.now();

    // All poll until the first one can end at the sandbox.
    const steadyEnd = firstCreatedAt + runSeconds * 1000;
    if (steadyEnd - allStarted < 60_000) throw new Error(`--run-seconds ${runSeconds} leaves under a minute of steady polling; raise it`);
    process.stderr.write(`fleet: all ${batches} in flight after ${((allStarted - started) / 1000).toFixed(0)} s; measuring until ${new Date(steadyEnd).toISOString()}\n`);
    const running = async () => (await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`)).count;
    while ((await running()) > 0) await new Promise((r) => setTimeout(r, 5000));
    const allDone = Date.now();
    samples.push({ at: Date.now(), ...sampleProcess(pid) });

    let completed = 0;
    let results = 0;
    for (const id of ids) {
      const batch = await loadBatch(id, { temporal: { client } });
      if (batch.status === 'completed') completed += 1;
      results += batch.anybatch.results?.output_count ?? 0;
    }
    const steady = window(samples, allStarted + 5000, steadyEnd);
    const submitting = window(samples, started, allStarted);
    const overall = window(samples, started, allDone);
    const workerPeak = await worker.stop();
    clearInterval(sampler);

    console.log(`anybatch fleet bench: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB, Node ${process.version}`);
    console.log(`${batches} batches of ${requests} requests, polled every ${poll}, each ${runSeconds} s at the sandbox, one worker`);
    const rows: [string, string][] = [
      ['time to start all (created and accepted)', `${((allStarted - started) / 1000).toFixed(1)} s (${(batches / ((allStarted - started) / 1000)).toFixed(1)} batches/s)`],
      ['worker CPU while starting', `${submitting.cpuPercent.toFixed(1)}% of one core`],
      [`worker CPU while all ${batches} poll (${steady.seconds.toFixed(0)} s)`, `${steady.cpuPercent.toFixed(1)}% of one core`],
      ['worker RSS while all poll (avg / peak)', `${steady.rssAvgMb.toFixed(0)} MB / ${steady.rssPeakMb.toFixed(0)} MB`],
      ['worker RSS idle before the fleet', `${idle.rssMb.toFixed(0)} MB`],
      ['worker peak RSS over the run', `${Math.max(workerPeak, overall.rssPeakMb).toFixed(0)} MB`],
      ['time until all complete', `${((allDone - started) / 1000).toFixed(0)} s`],
      ['batches completed / results written', `${completed} / ${results} (expected ${batches} / ${batches * requests})`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`| ${'measure'.padEnd(width)} | value |\n| ${'-'.repeat(width)} | ----- |`);
    for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v} |`);
    if (completed !== batches || results !== batches * requests) process.exitCode = 1;
  } finally {
    clearInterval(sampler);
    if (worker.child.exitCode === null) await worker.stop();
    await connection.close();
    await sandbox.stop();
    await temporal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
