/**
 * `npm run bench`: end-to-end figures on this machine. The CLI, a fresh worker per input and the sandbox run
 * as separate processes and each reports its peak RSS. Not part of `npm test`.
 *
 *   node dist/bench/bench.js [--sizes 10,200] [--lines 50000] [--stores local,s3] [--no-peer]
 *
 * Each input runs once per store: the local folder (ANYBATCH_HOME, the default) and S3 (a versitygw started here,
 * ANYBATCH_STORAGE=s3://...: the client streams the input into the bucket, the worker reads parts from it and
 * writes results to it). The peer runs once per input (it has no store).
 * For each generated input (realistic chat requests): `anybatch create` (validate, stage, upload, create; split
 * past 50,000 requests or 200 MB), then the wait until results are merged on disk. Then the peer, any-llm
 * (bench/peer.ts), on the same file and sandbox: `create_batch`, then `retrieve_batch_results`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadBatch } from '../src/api';
import { isTerminal } from '../src/contract/batch';
import type { AnybatchBatch } from '../src/contract/batch';
import { startVersitygw } from '../src/storage/versitygw';
import type { VersitygwServer } from '../src/storage/versitygw';
import { measureNode, startSandboxProcess, startTemporal, startWorkerProcess } from './harness';
import { MB, writeInput } from './inputs';
import { PEER_PACKAGE, ensurePeer, runPeer } from './peer';

const CREATE_CALL = path.join(__dirname, 'create-call.js');
const FLOOR = path.join(__dirname, 'floor.js');
const DOWNLOADS = ['downloadPart', 'downloadPartResults'];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function table(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(width[i])).join(' | ')} |`;
  return [line(head), `| ${width.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

const s = (seconds: number) => (Number.isFinite(seconds) ? `${seconds.toFixed(2)} s` : 'n/a');
const mb = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} MB` : 'n/a');
const ratio = (peer: number, ours: number) => (Number.isFinite(peer) && Number.isFinite(ours) && ours > 0 ? `${(peer / ours).toFixed(1)}x` : 'n/a');

interface Timestamp {
  seconds?: { toNumber(): number } | number | null;
  nanos?: number | null;
}
interface HistoryEvent {
  eventId?: { toNumber(): number } | number | null;
  eventTime?: Timestamp | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: { toNumber(): number } | number | null } | null;
}
const num = (v: { toNumber(): number } | number | null | undefined) => (v == null ? NaN : typeof v === 'number' ? v : v.toNumber());
const ms = (t: Timestamp | null | undefined) => num(t?.seconds) * 1000 + (t?.nanos ?? 0) / 1e6;

type History = { events?: HistoryEvent[] | null };

/**
 * Seconds from a `from` activity being scheduled (the first one, or with `start: 'last'` the last one) to the last `to`
 * activity completing, in a batch's history.
 */
function activitySpan(history: History, from: string[], to: string, start: 'first' | 'last' = 'first'): number {
  const scheduled = new Map<number, string>();
  let begin = start === 'first' ? Infinity : -Infinity;
  let last = NaN;
  for (const event of history.events ?? []) {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) {
      scheduled.set(num(event.eventId), name);
      if (from.includes(name)) begin = start === 'first' ? Math.min(begin, ms(event.eventTime)) : Math.max(begin, ms(event.eventTime));
    }
    const done = event.activityTaskCompletedEventAttributes;
    if (done && scheduled.get(num(done.scheduledEventId)) === to) last = ms(event.eventTime);
  }
  return (last - begin) / 1000;
}

/** Waits until a provider batch (created by the peer directly at the sandbox) is terminal; returns its status. */
async function sandboxBatchStatus(apiBase: string, id: string): Promise<string> {
  for (;;) {
    const res = await fetch(`${apiBase}/batches/${id}`, { headers: { authorization: 'Bearer bench' } });
    const batch = (await res.json()) as { status: string; errors?: { data?: { message: string }[] } };
    if (['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) {
      return batch.status === 'failed' ? `failed: ${batch.errors?.data?.[0]?.message ?? 'no reason'}` : batch.status;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

type StoreKind = 'local' | 's3';
const S3_BUCKET = 'anybatch-bench';

interface Measured {
  label: string;
  store: StoreKind;
  mib: number;
  requests: number;
  parts: number;
  submit: number;
  /** The createBatch call alone (no process start, no imports). */
  submitCall: number;
  /** The floor in the same run (bench/floor.ts): read and parse every line once, upload the bytes once. */
  floor: number;
  /** Of `submit`, the worker's part: plan (split), upload, create. */
  submitWorker: number;
  clientRss: number;
  results: number;
  /** From the last part's download to the merge (the parts' end at the provider not waited for). */
  resultsLast: number;
  endToEnd: number;
  workerRss: number;
  peer: { submit: number; submitCall: number; submitRss: number; results: number; resultsCall: number; resultsRss: number; note: string } | null;
}

async function main(): Promise<void> {
  const inputs: { label: string; bytes: number; lines: number }[] = arg('sizes', '10,200')
    .split(',')
    .filter(Boolean)
    .map((size) => ({ label: `${size} MB`, bytes: Number(size) * 1_000_000, lines: Infinity }));
  const lines = Number(arg('lines', '50000'));
  const stores = arg('stores', 'local,s3').split(',').filter(Boolean) as StoreKind[];
  for (const st of stores) if (st !== 'local' && st !== 's3') throw new Error(`--stores takes local and/or s3 (got ${st})`);
  if (lines > 0) inputs.push({ label: `${lines} lines`, bytes: Infinity, lines });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const peerMissing = process.argv.includes('--no-peer') ? 'skipped (--no-peer)' : ensurePeer(log);
  if (peerMissing) log(`bench: the peer is unavailable: ${peerMissing}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-bench-'));
  const temporal = await startTemporal(dir);
  const sandbox = await startSandboxProcess(dir, ['--rate', '1000000', '--validation-ms', '50']);
  const apiBase = `${sandbox.url}/v1`;
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const s3: VersitygwServer | null = stores.includes('s3') ? await startVersitygw({ buckets: [S3_BUCKET], dataDir: path.join(dir, 's3') }) : null;
  const rows: Measured[] = [];
  const storeEnv = (store: StoreKind, run: string): Record<string, string> =>
    store === 'local' || !s3
      ? {}
      : {
          ANYBATCH_STORAGE: `s3://${S3_BUCKET}/${run}`,
          AWS_ENDPOINT_URL_S3: s3.endpoint,
          AWS_ACCESS_KEY_ID: s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
          AWS_REGION: s3.region,
        };
  try {
    for (const [i, spec] of inputs.entries()) {
      const file = path.join(dir, `input-${i}.jsonl`);
      const requests = await writeInput(file, spec.bytes, spec.lines);
      const mib = fs.statSync(file).size / MB;
      // The floor of this input, measured beside anybatch's runs (the same sandbox, a plain script: bench/floor.ts).
      const floorRun = await measureNode(FLOOR, [file, '--api-base', apiBase], {}, dir);
      if (floorRun.code !== 0) throw new Error(`the floor script failed: ${floorRun.stderr}`);
      const floor = (JSON.parse(floorRun.stdout.trim().split('\n').pop()!) as { call_seconds: number }).call_seconds;
      log(`bench: ${spec.label}: floor ${floor.toFixed(2)} s`);
      for (const store of stores) {
        const run = `${store}-${i}`;
        const env = { TEMPORAL_ADDRESS: temporal.address, ANYBATCH_HOME: path.join(dir, `home-${run}`), ANYBATCH_TASK_QUEUE: `bench-${run}`, ...storeEnv(store, run) };
        const worker = await startWorkerProcess(dir, env);
        let workerRss = NaN;
        let row: Measured;
        try {
          // The library call in its own process, as the peer's create_batch is measured.
          const submit = await measureNode(CREATE_CALL, [file, '--api-base', apiBase], env, dir);
          if (submit.code !== 0) throw new Error(`createBatch failed: ${submit.stderr}`);
          const created = JSON.parse(submit.stdout.trim().split('\n').pop()!) as { batch_id: string; call_seconds: number };
          const id = created.batch_id;
          let batch: AnybatchBatch;
          for (;;) {
            batch = await loadBatch(id, { temporal: { client } });
            if (isTerminal(batch.status)) break;
            await new Promise((r) => setTimeout(r, 250));
          }
          if (batch.anybatch.results?.output_count !== requests) throw new Error(`expected ${requests} results, got ${batch.anybatch.results?.output_count}`);
          workerRss = await worker.stop();
          const history = (await client.workflow.getHandle(id).fetchHistory()) as History;
          row = {
            label: spec.label,
            store,
            mib,
            requests,
            parts: batch.anybatch.provider_batches.length,
            submit: submit.seconds,
            submitCall: created.call_seconds,
            floor,
            clientRss: submit.peakRssMb,
            // From the first part's download (the job workflow downloads each part as it ends: `downloadPart`; the
            // first workflow all at once: `downloadPartResults`) to the merge, which includes any wait for the other
            // parts to end at the provider; and from the last part's download, which does not.
            results: activitySpan(history, DOWNLOADS, 'mergeResults'),
            resultsLast: activitySpan(history, DOWNLOADS, 'mergeResults', 'last'),
            submitWorker: activitySpan(history, ['planParts'], 'createPartBatch'),
            endToEnd: batch.completed_at !== undefined ? batch.completed_at - batch.created_at : NaN,
            workerRss,
            peer: null,
          };
          log(`bench: ${spec.label}, ${store} store: anybatch done`);
        } finally {
          if (Number.isNaN(workerRss)) await worker.stop();
        }
        if (!peerMissing && store === stores[0]) {
          const created = await runPeer('create', file, apiBase);
          const peer = { submit: created.seconds, submitCall: created.callSeconds, submitRss: created.peakRssMb, results: NaN, resultsCall: NaN, resultsRss: NaN, note: '' };
          if (created.error) peer.note = `create_batch: ${created.error}`;
          else {
            const status = await sandboxBatchStatus(apiBase, String(created.report.batch_id));
            if (status !== 'completed') peer.note = `provider batch ${status}`;
            else {
              const results = await runPeer('results', String(created.report.batch_id), apiBase);
              if (results.error) peer.note = `retrieve_batch_results: ${results.error}`;
              else if (results.report.results !== requests) peer.note = `retrieve_batch_results gave ${String(results.report.results)} of ${requests}`;
              Object.assign(peer, { results: results.seconds, resultsCall: results.callSeconds, resultsRss: results.peakRssMb });
            }
          }
          row.peer = peer;
          log(`bench: ${spec.label}: any-llm done${peer.note ? ` (${peer.note})` : ''}`);
        }
        rows.push(row);
      }
    }
  } finally {
    await connection.close();
    await s3?.stop();
    await sandbox.stop();
    await temporal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  console.log(`anybatch bench: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB, Node ${process.version}; peer: ${peerMissing ? `none (${peerMissing})` : `${PEER_PACKAGE} (Python)`}`);
  console.log('\nsubmit: validate, stage, upload, create (anybatch: `createBatch`; any-llm: `create_batch`; each in its own process, timed whole and the call alone; floor: bench/floor.ts, read and parse every line once and upload the bytes once)');
  console.log(
    table(
      ['input', 'store', 'requests', 'provider batches', 'anybatch wall (call alone; worker part)', 'floor', 'call / floor', 'MB/s', 'anybatch client RSS', 'any-llm wall (call alone)', 'any-llm RSS', 'any-llm / anybatch (wall; call alone)'],
      rows.map((r) => [
        `${r.label} (${r.mib.toFixed(1)} MiB)`,
        storeLabel(r.store),
        String(r.requests),
        String(r.parts),
        `${s(r.submit)} (${s(r.submitCall)}; ${s(r.submitWorker)})`,
        s(r.floor),
        `${(r.submitCall / r.floor).toFixed(2)}x`,
        (r.mib / r.submitCall).toFixed(1),
        mb(r.clientRss),
        r.peer ? `${s(r.peer.submit)} (${s(r.peer.submitCall)})` : 'n/a',
        mb(r.peer?.submitRss ?? NaN),
        `${ratio(r.peer?.submit ?? NaN, r.submit)}; ${ratio(r.peer?.submitCall ?? NaN, r.submitCall)}`,
      ]),
    ),
  );
  console.log('\nresults: download and write every result line (anybatch: the worker, from the batch history: first part\'s download to the merge, and in parentheses from the last part\'s download; any-llm: `retrieve_batch_results`)');
  console.log(
    table(
      ['input', 'store', 'result lines', 'anybatch results', 'anybatch worker peak RSS', 'end to end', 'any-llm wall (call alone)', 'any-llm RSS', 'any-llm / anybatch (wall; call alone)', 'any-llm note'],
      rows.map((r) => [
        r.label,
        storeLabel(r.store),
        String(r.requests),
        `${s(r.results)} (${s(r.resultsLast)})`,
        mb(r.workerRss),
        `~${r.endToEnd} s`,
        r.peer && Number.isFinite(r.peer.results) ? `${s(r.peer.results)} (${s(r.peer.resultsCall)})` : 'n/a',
        mb(r.peer?.resultsRss ?? NaN),
        `${ratio(r.peer?.results ?? NaN, r.results)}; ${ratio(r.peer?.resultsCall ?? NaN, r.results)}`,
        r.peer?.note || '',
      ]),
    ),
  );
  for (const store of stores) {
    const small = rows.find((r) => r.label === '10 MB' && r.store === store);
    const large = rows.find((r) => r.label === '200 MB' && r.store === store);
    if (!small || !large) continue;
    console.log(
      `\nflat memory, ${storeLabel(store)} store, 10 MB -> 200 MB (target: at most +25 MB): client ${mb(small.clientRss)} -> ${mb(large.clientRss)} (+${(large.clientRss - small.clientRss).toFixed(0)} MB); ` +
        `worker ${mb(small.workerRss)} -> ${mb(large.workerRss)} (+${(large.workerRss - small.workerRss).toFixed(0)} MB)`,
    );
  }
}

function storeLabel(store: StoreKind): string {
  return store === 'local' ? 'local folder' : 'S3 (versitygw)';
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
