/**
 * The results path of a worker in isolation: what `downloadPartResults` does for each part (the part's custom_ids
 * from its staged input, the provider's result lines read as the OpenAI adapter reads them, `writePartResults` with
 * its usage tally) and then what `mergeResults` does (`mergeResults`, then the cost at batch prices), on a local
 * folder, timed with wall and CPU time. Not part of `npm test`.
 *
 *   node dist/bench/results-profile.js [--size 200] [--runs 3] [--source file|sandbox] [--dir DIR] [--keep] [--no-als] [--faults]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/results-profile.js --runs 1
 *
 * The input is bench/inputs.ts's (200 MB: about 147,000 chat requests), split as the worker splits it for OpenAI
 * (three parts). With `--source file` (the default) each part's results are the sandbox's OpenAI output lines,
 * made by its own responder and read from a file the way the adapter reads the download (`readJsonLines`, malformed
 * lines reported); with `--source sandbox` they are real downloads: the parts are submitted to a sandbox process and
 * read through the OpenAI adapter over HTTP. Generation happens once, before the timed runs (kept in `--dir` with
 * `--keep`, and reused when found there). With `--faults` (file source) some results are failures: every 97th request a
 * 500 error line, every 101st never reported, every 5,000th an unreadable (cut off) line. Each run goes inside an AsyncLocalStorage context, as an activity runs inside
 * Temporal's (in Node 20 that turns on the promise hooks, which makes every promise dearer), unless `--no-als`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import OpenAI from 'openai';
import type { Batch, ResultLine } from '../src/contract/batch';
import type { PartPlan, PartResults } from '../src/contract/spec';
import { withCost } from '../src/cost';
import { getAdapter } from '../src/providers';
import type { ProviderInput } from '../src/providers/types';
import { MalformedLine, readFileChunks, readJsonLines, splitLines } from '../src/results/jsonl';
import { malformedResultLine, maxResultLineBytes } from '../src/results/malformed';
import { splitInput, splitLimits } from '../src/results/split';
import { idsOfInput, mergeResults, missingOutcome, writePartResults } from '../src/results/writer';
import { respond } from '../src/sandbox/providers/openai/responder';
import { stableHex } from '../src/sandbox/kernel/ids';
import { startSandboxProcess, type Service } from './harness';
import { writeInput } from './inputs';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const ENDPOINT = '/v1/chat/completions';
const PROVIDER = 'openai';

/** The sandbox's OpenAI output file of one part, every request answered (src/sandbox/providers/openai/outputs.ts). */
async function writeResultsFile(partFile: string, target: string, batchId: string, faults: boolean): Promise<void> {
  const out = fs.createWriteStream(target, { highWaterMark: 1 << 20 });
  let index = 0;
  const created = Math.floor(Date.now() / 1000);
  for await (const line of splitLines(readFileChunks(partFile))) {
    if (line.length === 0) continue;
    const request = JSON.parse(line.toString('utf8')) as { custom_id: string; body: Record<string, unknown> };
    const failed = faults && index % 97 === 0;
    if (faults && index % 101 === 0) {
      index++;
      continue;
    }
    const outcome = failed
      ? { statusCode: 500, body: { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } } }
      : respond(ENDPOINT, request.body, { key: `${batchId}/${request.custom_id}`, created });
    let text = JSON.stringify({
      id: `batch_req_${stableHex(batchId, index)}`,
      custom_id: request.custom_id,
      response: { status_code: outcome.statusCode, request_id: `req_${stableHex('request', batchId, index)}`, body: outcome.body },
      error: null,
    });
    if (faults && index % 5000 === 4999) text = text.slice(0, text.length / 2);
    if (!out.write(text + '\n')) await once(out, 'drain');
    index++;
  }
  out.end();
  await once(out, 'finish');
}

/** A part's result lines as the OpenAI adapter reads a download (`readResults`), here from a file. */
async function* linesOfFile(file: string): AsyncGenerator<ResultLine> {
  const maxLineBytes = maxResultLineBytes(getAdapter(PROVIDER).capabilities);
  const expectedBytes = fs.statSync(file).size;
  const lines = readJsonLines<ResultLine>(fs.createReadStream(file), { source: `file ${path.basename(file)}`, expectedBytes, maxLineBytes, malformed: 'report' });
  for await (const line of lines) {
    const out = line instanceof MalformedLine ? malformedResultLine(line, { provider: 'OpenAI', maxLineBytes }) : line;
    if (out) yield out;
  }
}

function completedBatch(id: string, requests: number): Batch {
  return {
    id,
    object: 'batch',
    endpoint: ENDPOINT,
    status: 'completed',
    input_file_id: `file-${id}`,
    completion_window: '24h',
    created_at: 0,
    request_counts: { total: requests, completed: requests, failed: 0 },
  } as unknown as Batch;
}

interface Prepared {
  parts: PartPlan[];
  requests: number;
  /** Where each part's results come from. */
  lines: (part: PartPlan, index: number) => AsyncIterable<ResultLine>;
  batches: Batch[];
  stop(): Promise<void>;
}

async function prepare(dir: string, sizeMb: number, source: string, faults: boolean): Promise<Prepared> {
  const input = path.join(dir, 'input.jsonl');
  const planFile = path.join(dir, 'plan.json');
  let parts: PartPlan[];
  let requests: number;
  if (fs.existsSync(planFile)) {
    ({ parts, requests } = JSON.parse(fs.readFileSync(planFile, 'utf8')) as { parts: PartPlan[]; requests: number });
  } else {
    requests = await writeInput(input, sizeMb * 1_000_000);
    parts = await splitInput(input, splitLimits(getAdapter(PROVIDER), { endpoint: ENDPOINT, providerOptions: {} }));
    let first = 0;
    parts = parts.map((p) => {
      const plan = { ...p, firstRequest: first };
      first += p.requestCount;
      return plan;
    });
    fs.writeFileSync(planFile, JSON.stringify({ parts, requests }));
  }
  if (source === 'file') {
    const files = parts.map((_, i) => path.join(dir, `results-${i}${faults ? '-faults' : ''}.jsonl`));
    for (const [i, part] of parts.entries()) if (!fs.existsSync(files[i])) await writeResultsFile(part.path, files[i], `batch_profile_${i}`, faults);
    return {
      parts,
      requests,
      lines: (_part, i) => linesOfFile(files[i]),
      batches: parts.map((p, i) => completedBatch(`batch_profile_${i}`, p.requestCount)),
      stop: async () => undefined,
    };
  }
  if (source !== 'sandbox') throw new Error(`--source takes file or sandbox (got ${source})`);
  const sandbox: Service = await startSandboxProcess(dir, ['--rate', '1000000', '--validation-ms', '50']);
  const apiBase = `${sandbox.url}/v1`;
  const client = new OpenAI({ apiKey: 'bench', baseURL: apiBase });
  const batches: Batch[] = [];
  for (const part of parts) {
    const file = await client.files.create({ file: new File([await fs.openAsBlob(part.path)], path.basename(part.path), { type: 'application/jsonl' }), purpose: 'batch' });
    let batch = (await client.batches.create({ input_file_id: file.id, endpoint: ENDPOINT, completion_window: '24h' })) as unknown as Batch;
    while (!['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) {
      await new Promise((r) => setTimeout(r, 250));
      batch = (await client.batches.retrieve(batch.id)) as unknown as Batch;
    }
    if (batch.status !== 'completed') throw new Error(`sandbox batch ${batch.id} ended ${batch.status}`);
    batches.push(batch);
  }
  const conn = { apiKey: 'bench', apiBase };
  const adapter = getAdapter(PROVIDER);
  return {
    parts,
    requests,
    lines: (part, i) => adapter.readResults(conn, batches[i], { ...part } as unknown as ProviderInput),
    batches,
    stop: async () => {
      await sandbox.stop();
    },
  };
}

interface RunFigures {
  wallSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  writeSeconds: number[];
  mergeSeconds: number;
  outputCount: number;
  errorsCount: number;
  cost: unknown;
  requestsCounted: number;
  rssMb: number;
  /** sha256 of output.jsonl and errors.jsonl (after the timing), to compare builds. */
  digests: string;
}

async function digest(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex').slice(0, 16);
}

async function run(dir: string, prepared: Prepared, index: number): Promise<RunFigures> {
  const resultsDir = path.join(dir, `results-run-${index}`);
  fs.rmSync(resultsDir, { recursive: true, force: true });
  fs.mkdirSync(resultsDir, { recursive: true });
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const results: PartResults[] = [];
  const writeSeconds: number[] = [];
  for (const [i, part] of prepared.parts.entries()) {
    const t = process.hrtime.bigint();
    results.push(
      await writePartResults({
        batchId: 'batch_profile',
        resultsDir,
        part,
        ids: idsOfInput(part.path),
        lines: prepared.lines(part, i),
        outcome: missingOutcome(prepared.batches[i]),
        warn: (message) => process.stderr.write(`warn: ${message}\n`),
      }),
    );
    writeSeconds.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  const t = process.hrtime.bigint();
  const merged = withCost(await mergeResults(resultsDir, results), PROVIDER, results);
  const mergeSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const usage = results.map((r) => r.usage ?? {});
  const requestsCounted = usage.reduce((a, u) => a + Object.values(u).reduce((b, m) => b + m.requests, 0), 0);
  const digests = `${await digest(merged.output_path)} ${await digest(merged.errors_path)}`;
  fs.rmSync(resultsDir, { recursive: true, force: true });
  return {
    wallSeconds,
    userSeconds: used.user / 1e6,
    systemSeconds: used.system / 1e6,
    writeSeconds,
    mergeSeconds,
    outputCount: merged.output_count,
    errorsCount: merged.errors_count,
    cost: merged.cost,
    requestsCounted,
    rssMb: process.memoryUsage().rss / 2 ** 20,
    digests,
  };
}

async function main(): Promise<void> {
  const sizeMb = Number(arg('size', '200'));
  const runs = Number(arg('runs', '3'));
  const source = arg('source', 'file');
  const given = arg('dir', '');
  const keep = process.argv.includes('--keep') || given !== '';
  const dir = given || fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-results-profile-'));
  fs.mkdirSync(dir, { recursive: true });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const prepared = await prepare(dir, sizeMb, source, process.argv.includes('--faults'));
  try {
    log(`results-profile: ${prepared.requests} requests in ${prepared.parts.length} parts (${source}), ${runs} run(s), Node ${process.version}${process.argv.includes('--no-als') ? ', no AsyncLocalStorage' : ''}`);
    const figures: RunFigures[] = [];
    const als = process.argv.includes('--no-als') ? null : new AsyncLocalStorage<{ run: number }>();
    for (let i = 0; i < runs; i++) {
      const f = als ? await als.run({ run: i }, () => run(dir, prepared, i)) : await run(dir, prepared, i);
      figures.push(f);
      log(
        `run ${i + 1}: wall ${f.wallSeconds.toFixed(2)} s, user ${f.userSeconds.toFixed(2)} s, system ${f.systemSeconds.toFixed(2)} s; ` +
          `parts ${f.writeSeconds.map((s) => s.toFixed(2)).join(' + ')} s, merge ${f.mergeSeconds.toFixed(2)} s; ` +
          `output ${f.outputCount}, errors ${f.errorsCount}, usage requests ${f.requestsCounted}; rss ${f.rssMb.toFixed(0)} MB`,
      );
      if (f.outputCount + f.errorsCount !== prepared.requests) throw new Error(`accounted ${f.outputCount + f.errorsCount} of ${prepared.requests} requests`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(
      JSON.stringify({
        requests: prepared.requests,
        parts: prepared.parts.length,
        source,
        runs,
        wallMedian: median(figures.map((f) => f.wallSeconds)),
        userMedian: median(figures.map((f) => f.userSeconds)),
        systemMedian: median(figures.map((f) => f.systemSeconds)),
        output: figures[0].outputCount,
        errors: figures[0].errorsCount,
        usageRequests: figures[0].requestsCounted,
        digests: [...new Set(figures.map((f) => f.digests))],
        cost: figures[0].cost,
      }),
    );
  } finally {
    await prepared.stop();
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
