/**
 * Durability under crashes: runs many batches (some split into several provider batches) while the worker is
 * SIGKILLed at random moments and the Temporal dev server is restarted once on the same database file. Then
 * checks that every batch ended, no provider batch was created twice for a part, every custom_id of every
 * input is in the results exactly once, and nothing is left running. `npm run durability` prints the figures;
 * test/integration/durability.test.ts runs a smaller one.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createBatch, loadBatch } from '../src/api';
import { isTerminal } from '../src/contract/batch';
import type { AnybatchBatch } from '../src/contract/batch';
import { startSandbox } from '../src/sandbox';
import { freePort, startDevServer } from '../src/temporal/devserver';
import type { DevServer } from '../src/temporal/devserver';
import { packageRoot } from '../src/temporal/tools';

export interface DurabilityOptions {
  batches: number;
  /** Requests per batch are drawn from this range. */
  minRequests: number;
  maxRequests: number;
  /** Provider batches are split at this many requests, so larger inputs span several. */
  partSize: number;
  /** The worker is killed after a random delay in this range (ms), again and again. */
  killEveryMs: [number, number];
  /** How long the chaos lasts before a last worker is left to finish. */
  chaosMs: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface DurabilityReport {
  batches: number;
  completed: number;
  statuses: Record<string, number>;
  requests: number;
  workerKills: number;
  temporalRestarts: number;
  providerBatchesCreated: number;
  providerBatchesExpected: number;
  missingIds: number;
  duplicateIds: number;
  stillRunning: number;
  seconds: number;
}

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

function writeInput(file: string, batch: number, n: number): void {
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ custom_id: `b${batch}-r${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `batch ${batch} request ${i}` }] } }),
  );
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

function readIds(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
}

export async function runDurability(opts: DurabilityOptions): Promise<DurabilityReport> {
  const log = opts.log ?? (() => undefined);
  const random = rng(opts.seed ?? 42);
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-durability-'));
  const home = path.join(dir, 'home');
  const port = await freePort();
  const dbFile = path.join(dir, 'temporal.db');
  const startTemporal = () => startDevServer({ port, uiPort: null, dbFile, logFile: path.join(dir, 'temporal.log') });
  let temporal: DevServer = await startTemporal();
  const sandbox = await startSandbox({ maxRequests: opts.partSize, rate: 40, faults: { rate429: 0.02, rate500: 0.02, seed: opts.seed ?? 42 } });
  const taskQueue = 'durability';
  const env = { ...process.env, TEMPORAL_ADDRESS: temporal.address, ANYBATCH_TASK_QUEUE: taskQueue, ANYBATCH_HOME: home, ANYBATCH_LOG_LEVEL: 'ERROR' };
  const workerScript = path.join(packageRoot(), 'dist', 'worker.js');
  let worker: ChildProcess | null = null;
  let kills = 0;
  const startWorker = () => {
    worker = spawn(process.execPath, [workerScript], { env, stdio: 'ignore' });
  };
  const killWorker = async () => {
    const w = worker as ChildProcess | null;
    if (!w || w.exitCode !== null) return;
    const exited = new Promise((r) => w.once('exit', r));
    w.kill('SIGKILL');
    await exited;
    kills += 1;
  };

  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const options = { temporal: { client }, taskQueue };
  const inputs: { id: string; file: string; n: number }[] = [];
  let report: DurabilityReport | null = null;
  try {
    process.env.ANYBATCH_HOME = home;
    startWorker();
    for (let b = 0; b < opts.batches; b++) {
      const n = opts.minRequests + Math.floor(random() * (opts.maxRequests - opts.minRequests + 1));
      const file = path.join(dir, `input-${b}.jsonl`);
      writeInput(file, b, n);
      const batch = await createBatch('openai', file, '/v1/chat/completions', {
        ...options,
        apiBase: `${sandbox.url}/v1`,
        apiKey: 'durability',
        pollInterval: '300ms',
        maxRequestsPerPart: opts.partSize,
        noWait: true,
      });
      inputs.push({ id: batch.id, file, n });
    }
    log(`submitted ${inputs.length} batches, ${inputs.reduce((a, i) => a + i.n, 0)} requests`);

    const chaosEnd = Date.now() + opts.chaosMs;
    let restarted = false;
    while (Date.now() < chaosEnd) {
      const [lo, hi] = opts.killEveryMs;
      await new Promise((r) => setTimeout(r, lo + random() * (hi - lo)));
      await killWorker();
      if (!restarted && Date.now() > chaosEnd - opts.chaosMs / 2) {
        log('restarting the Temporal dev server on the same database');
        await temporal.stop();
        temporal = await startTemporal();
        restarted = true;
      }
      startWorker();
    }
    log(`chaos over after ${kills} worker kills; letting the last worker finish`);

    const finals = new Map<string, AnybatchBatch>();
    const deadline = Date.now() + 10 * 60_000;
    while (finals.size < inputs.length && Date.now() < deadline) {
      for (const input of inputs) {
        if (finals.has(input.id)) continue;
        const b = await loadBatch(input.id, options).catch(() => null);
        if (b && isTerminal(b.status)) finals.set(input.id, b);
      }
      if (finals.size < inputs.length) await new Promise((r) => setTimeout(r, 500));
    }

    let missing = 0;
    let duplicates = 0;
    const statuses: Record<string, number> = {};
    for (const input of inputs) {
      const b = finals.get(input.id);
      statuses[b?.status ?? 'not terminal'] = (statuses[b?.status ?? 'not terminal'] ?? 0) + 1;
      if (!b?.anybatch.results) {
        missing += input.n;
        continue;
      }
      const ids = [...readIds(b.anybatch.results.output_path), ...readIds(b.anybatch.results.errors_path)];
      const seen = new Set(ids);
      duplicates += ids.length - seen.size;
      for (const id of readIds(input.file)) if (!seen.has(id)) missing += 1;
    }
    let stillRunning = 0;
    for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) if (w) stillRunning += 1;
    report = {
      batches: inputs.length,
      completed: statuses.completed ?? 0,
      statuses,
      requests: inputs.reduce((a, i) => a + i.n, 0),
      workerKills: kills,
      temporalRestarts: restarted ? 1 : 0,
      providerBatchesCreated: sandbox.stats().batchesCreated,
      providerBatchesExpected: inputs.reduce((a, i) => a + Math.ceil(i.n / opts.partSize), 0),
      missingIds: missing,
      duplicateIds: duplicates,
      stillRunning,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    return report;
  } finally {
    await killWorker();
    await connection.close();
    await sandbox.close();
    await temporal.stop();
    if (report) fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir} for inspection`);
  }
}

if (require.main === module) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  runDurability({
    batches: arg('batches', 20),
    minRequests: 20,
    maxRequests: arg('max-requests', 200),
    partSize: arg('part-size', 50),
    killEveryMs: [arg('kill-min-ms', 1500), arg('kill-max-ms', 6000)],
    chaosMs: arg('chaos-seconds', 60) * 1000,
    log: (l) => console.error(`durability: ${l}`),
  })
    .then((r) => {
      console.log(JSON.stringify(r, null, 2));
      const ok = r.completed === r.batches && r.providerBatchesCreated === r.providerBatchesExpected && r.missingIds === 0 && r.duplicateIds === 0 && r.stillRunning === 0;
      console.log(ok ? 'durability: every batch completed, no duplicate provider batch, every custom_id exactly once' : 'durability: FAILED');
      process.exitCode = ok ? 0 : 1;
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
