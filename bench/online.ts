/**
 * `npm run bench:online`: 10,000 chat requests through the `openai-compatible` provider (no batch API) against a
 * sandbox whose online endpoint allows 6,000 requests a minute (`anybatch sandbox --rpm 6000`), with a worker in
 * its own process. Prints the fraction of the limit used while sending (target at least 95%), the requests lost
 * (custom_ids without a result line) and duplicated (answered twice by the sandbox, or twice in the results),
 * and the worker's CPU time and peak memory. BENCH_ONLINE_REQUESTS and BENCH_ONLINE_RPM change the size.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createBatch, loadBatch, resultLinesOf } from '../src/api';
import { isTerminal } from '../src/contract/batch';
import type { AnybatchBatch } from '../src/contract/batch';
import { startSandboxProcess, startTemporal, startWorkerProcess } from './harness';

const REQUESTS = Number(process.env.BENCH_ONLINE_REQUESTS ?? 10_000);
const RPM = Number(process.env.BENCH_ONLINE_RPM ?? 6_000);
const CONCURRENCY = 16;

interface OnlineStats {
  completions: number;
  rateLimited: number;
  duplicates: number;
  distinct: number;
}

async function onlineStats(url: string): Promise<OnlineStats> {
  const stats = (await (await fetch(`${url}/_sandbox/stats`)).json()) as { online: OnlineStats };
  return stats.online;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function writeInput(file: string, n: number): void {
  const out = fs.openSync(file, 'w');
  for (let i = 0; i < n; i++) {
    const line = { custom_id: `req-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'bench-model', max_tokens: 32, messages: [{ role: 'user', content: `Question ${i}: what is ${i} + ${i}?` }] } };
    fs.writeSync(out, JSON.stringify(line) + '\n');
  }
  fs.closeSync(out);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-bench-online-'));
  const temporal = await startTemporal(dir);
  const sandbox = await startSandboxProcess(dir, ['--rpm', String(RPM)]);
  const home = path.join(dir, 'home');
  process.env.ANYBATCH_HOME = home;
  const env = { TEMPORAL_ADDRESS: temporal.address, ANYBATCH_HOME: home, ANYBATCH_TASK_QUEUE: 'bench-online' };
  const worker = await startWorkerProcess(dir, env);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  let stopped = false;
  try {
    const file = path.join(dir, 'input.jsonl');
    writeInput(file, REQUESTS);
    const started = Date.now();
    const created = await createBatch('openai-compatible', file, '/v1/chat/completions', {
      temporal: { client },
      taskQueue: 'bench-online',
      apiBase: `${sandbox.url}/openai/v1`,
      apiKey: 'bench-key',
      rpm: RPM,
      concurrency: CONCURRENCY,
      pollInterval: '1s',
    });
    // The sending window: from the first answer to the last, sampled every 250 ms.
    let first: { at: number; count: number } | null = null;
    let last: { at: number; count: number } | null = null;
    let batch: AnybatchBatch;
    for (;;) {
      const stats = await onlineStats(sandbox.url);
      const at = Date.now();
      if (stats.completions > 0 && !first) first = { at, count: stats.completions };
      if (!last || stats.completions > last.count) last = { at, count: stats.completions };
      batch = await loadBatch(created.id, { temporal: { client } });
      if (isTerminal(batch.status)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const wall = (Date.now() - started) / 1000;
    const cpu = cpuSeconds(worker.child.pid);
    const stats = await onlineStats(sandbox.url);
    const seen = new Map<string, number>();
    let ok = 0;
    for await (const line of resultLinesOf(batch)) {
      seen.set(line.custom_id, (seen.get(line.custom_id) ?? 0) + 1);
      if (line.response?.status_code === 200) ok += 1;
    }
    let lost = 0;
    for (let i = 0; i < REQUESTS; i++) if (!seen.has(`req-${i}`)) lost += 1;
    const duplicatedInResults = [...seen.values()].filter((c) => c > 1).length;
    const windowSeconds = first && last ? (last.at - first.at) / 1000 : NaN;
    const rate = first && last ? ((last.count - first.count) / windowSeconds) * 60 : NaN;
    const rss = await worker.stop();
    stopped = true;
    const rows: [string, string][] = [
      ['requests', String(REQUESTS)],
      ['sandbox limit', `${RPM} RPM`],
      ['status', `${batch.status} (${ok} answered 200)`],
      ['wall time, create to completed', `${wall.toFixed(1)} s`],
      ['sending rate', `${rate.toFixed(0)} RPM over ${windowSeconds.toFixed(1)} s`],
      ['fraction of the limit used', `${((rate / RPM) * 100).toFixed(1)}%`],
      ['429s from the sandbox', String(stats.rateLimited)],
      ['lost (no result line)', String(lost)],
      ['duplicated (answered twice / twice in results)', `${stats.duplicates} / ${duplicatedInResults}`],
      ['worker CPU (user + system)', `${cpu.toFixed(1)} s (${((cpu / wall) * 100).toFixed(0)}% of one core)`],
      ['worker peak RSS', `${rss.toFixed(0)} MB`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\nonline batch benchmark (openai-compatible, concurrency ${CONCURRENCY})`);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
    if (lost > 0 || stats.duplicates > 0 || duplicatedInResults > 0) process.exitCode = 1;
  } finally {
    await connection.close();
    if (!stopped) await worker.stop().catch(() => undefined);
    await sandbox.stop();
    await temporal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
