/**
 * `npm run bench`: end-to-end figures on this machine. Each process (CLI, worker, sandbox) runs on its own and
 * reports its peak RSS. Not part of `npm test`.
 *
 *   node dist/bench/bench.js [--lines 50000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLIENT, measureNode, startSandboxProcess, startTemporal, startWorkerProcess } from './harness';
import { MB, writeInput } from './inputs';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

interface Row {
  scenario: string;
  input: string;
  wall: string;
  rate: string;
  clientRss: string;
  workerRss: string;
}

function table(rows: Row[]): string {
  const head: Row = { scenario: 'scenario', input: 'input', wall: 'wall time', rate: 'throughput', clientRss: 'client peak RSS', workerRss: 'worker peak RSS' };
  const all = [head, ...rows];
  const keys = Object.keys(head) as (keyof Row)[];
  const width = Object.fromEntries(keys.map((k) => [k, Math.max(...all.map((r) => r[k].length))])) as Record<keyof Row, number>;
  const line = (r: Row) => `| ${keys.map((k) => r[k].padEnd(width[k])).join(' | ')} |`;
  return [line(head), `| ${keys.map((k) => '-'.repeat(width[k])).join(' | ')} |`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const lines = Number(arg('lines', '50000'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-bench-'));
  const temporal = await startTemporal(dir);
  const sandbox = await startSandboxProcess(dir, ['--rate', '1000000', '--validation-ms', '50']);
  const env = { TEMPORAL_ADDRESS: temporal.address, ANYBATCH_HOME: path.join(dir, 'home'), ANYBATCH_TASK_QUEUE: 'bench' };
  const worker = await startWorkerProcess(dir, env);
  const rows: Row[] = [];
  try {
    const input = path.join(dir, `chat-${lines}.jsonl`);
    await writeInput(input, Number.MAX_SAFE_INTEGER, lines);
    const mb = fs.statSync(input).size / MB;
    const create = ['create', input, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--api-base', `${sandbox.url}/v1`, '--api-key', 'bench', '--json'];

    const submit = await measureNode(CLIENT, create, env, dir);
    if (submit.code !== 0) throw new Error(`create failed: ${submit.stderr}`);
    rows.push({ scenario: 'submit (validate, stage, upload, create)', input: `${lines} lines, ${mb.toFixed(1)} MB`, wall: `${submit.seconds.toFixed(2)} s`, rate: `${(mb / submit.seconds).toFixed(1)} MB/s`, clientRss: `${submit.peakRssMb.toFixed(0)} MB`, workerRss: '' });

    const full = await measureNode(CLIENT, [...create, '--poll-interval', '1s', '--wait'], env, dir);
    if (full.code !== 0) throw new Error(`create --wait failed: ${full.stderr}`);
    const batch = JSON.parse(full.stdout) as { request_counts: { completed: number }; anybatch: { results: { output_count: number } } };
    if (batch.anybatch.results.output_count !== lines) throw new Error(`expected ${lines} results, got ${batch.anybatch.results.output_count}`);
    rows.push({ scenario: 'end to end (create --wait, results written)', input: `${lines} lines`, wall: `${full.seconds.toFixed(2)} s`, rate: `${(lines / full.seconds).toFixed(0)} req/s`, clientRss: `${full.peakRssMb.toFixed(0)} MB`, workerRss: '' });
  } finally {
    const workerRss = await worker.stop();
    for (const r of rows) r.workerRss = `${workerRss.toFixed(0)} MB (whole run)`;
    await sandbox.stop();
    await temporal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`anybatch bench on ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB, Node ${process.version}`);
  console.log(table(rows));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
