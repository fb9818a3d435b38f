/**
 * `npm run bench`: end-to-end figures on this machine. The CLI, a fresh worker per input and the sandbox run
 * as separate processes and each reports its peak RSS. Not part of `npm test`.
 *
 *   node dist/bench/bench.js [--sizes 10,200] [--lines 50000]
 *
 * For each generated input (realistic chat requests): `anybatch create` (validate, stage, upload, create; split
 * past 50,000 requests or 200 MB), then the wait until results are merged on disk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadBatch } from '../src/api';
import { isTerminal } from '../src/batch';
import type { AnybatchBatch } from '../src/batch';
import { CLIENT, measureNode, startSandboxProcess, startTemporal, startWorkerProcess } from './harness';
import { MB, writeInput } from './inputs';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

type Row = Record<'input' | 'requests' | 'parts' | 'submit' | 'submitRate' | 'endToEnd' | 'clientRss' | 'workerRss', string>;

function table(rows: Row[]): string {
  const head: Row = {
    input: 'input',
    requests: 'requests',
    parts: 'provider batches',
    submit: 'submit wall',
    submitRate: 'submit MB/s',
    endToEnd: 'until results written',
    clientRss: 'create peak RSS',
    workerRss: 'worker peak RSS',
  };
  const keys = Object.keys(head) as (keyof Row)[];
  const all = [head, ...rows];
  const width = Object.fromEntries(keys.map((k) => [k, Math.max(...all.map((r) => r[k].length))])) as Record<keyof Row, number>;
  const line = (r: Row) => `| ${keys.map((k) => r[k].padEnd(width[k])).join(' | ')} |`;
  return [line(head), `| ${keys.map((k) => '-'.repeat(width[k])).join(' | ')} |`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const inputs: { label: string; bytes: number; lines: number }[] = arg('sizes', '10,200')
    .split(',')
    .map((mb) => ({ label: `${mb} MB`, bytes: Number(mb) * 1_000_000, lines: Infinity }));
  if (process.argv.includes('--lines')) inputs.unshift({ label: `${arg('lines', '50000')} lines`, bytes: Infinity, lines: Number(arg('lines', '50000')) });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-bench-'));
  const temporal = await startTemporal(dir);
  const sandbox = await startSandboxProcess(dir, ['--rate', '1000000', '--validation-ms', '50']);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const rows: Row[] = [];
  try {
    for (const [i, spec] of inputs.entries()) {
      const file = path.join(dir, `input-${i}.jsonl`);
      const requests = await writeInput(file, spec.bytes, spec.lines);
      const mb = fs.statSync(file).size / MB;
      const env = { TEMPORAL_ADDRESS: temporal.address, ANYBATCH_HOME: path.join(dir, `home-${i}`), ANYBATCH_TASK_QUEUE: `bench-${i}` };
      const worker = await startWorkerProcess(dir, env);
      let workerRss = NaN;
      try {
        const create = ['create', file, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--api-base', `${sandbox.url}/v1`, '--api-key', 'bench', '--poll-interval', '1s', '--json'];
        const submit = await measureNode(CLIENT, create, env, dir);
        if (submit.code !== 0) throw new Error(`create failed: ${submit.stderr}`);
        const id = (JSON.parse(submit.stdout) as AnybatchBatch).id;
        let batch: AnybatchBatch;
        for (;;) {
          batch = await loadBatch(id, { temporal: { client } });
          if (isTerminal(batch.status)) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        const endToEnd = batch.completed_at !== undefined ? batch.completed_at - batch.created_at : NaN;
        if (batch.anybatch.results?.output_count !== requests) throw new Error(`expected ${requests} results, got ${batch.anybatch.results?.output_count}`);
        workerRss = await worker.stop();
        rows.push({
          input: `${spec.label} (${mb.toFixed(1)} MiB)`,
          requests: String(requests),
          parts: String(batch.anybatch.provider_batches.length),
          submit: `${submit.seconds.toFixed(2)} s`,
          submitRate: (mb / submit.seconds).toFixed(1),
          endToEnd: `~${endToEnd} s`,
          clientRss: `${submit.peakRssMb.toFixed(0)} MB`,
          workerRss: `${workerRss.toFixed(0)} MB`,
        });
        process.stderr.write(`bench: ${spec.label} done\n`);
      } finally {
        if (Number.isNaN(workerRss)) await worker.stop();
      }
    }
  } finally {
    await connection.close();
    await sandbox.stop();
    await temporal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`anybatch bench: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB, Node ${process.version}`);
  console.log(table(rows));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
