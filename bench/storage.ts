/**
 * Blob-store memory and throughput: a streamed put and a streamed get of N MB (default 200) on the local
 * folder and on S3 (a versitygw started here), each in a process of its own so its peak RSS is its own.
 *
 *   npm run build && node dist/bench/storage.js [MB]
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalBlobStore, S3BlobStore } from '../src/storage';
import type { BlobStore } from '../src/storage';
import { startVersitygw } from '../src/storage/versitygw';

const MiB = 1024 * 1024;
const BUCKET = 'anybatch-bench';

interface ChildArgs {
  op: 'put' | 'get';
  store: { kind: 'local'; root: string } | { kind: 's3'; endpoint: string; accessKeyId: string; secretAccessKey: string };
  mb: number;
}

interface ChildResult {
  seconds: number;
  bytes: number;
  sha256: string;
  peakRssMb: number;
}

/** N MiB of pseudo-random bytes, 1 MiB at a time, without holding them. */
function generated(mb: number, hash: crypto.Hash): Readable {
  const block = crypto.randomBytes(MiB);
  return Readable.from(
    (function* () {
      for (let i = 0; i < mb; i++) {
        block.writeUInt32LE(i, 0); // every MiB differs
        const chunk = Buffer.from(block);
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
}

function open(spec: ChildArgs['store']): BlobStore {
  if (spec.kind === 'local') return new LocalBlobStore(spec.root);
  // The partSize x queueSize the research recommends for inputs: 8 MiB x 4.
  return new S3BlobStore({
    bucket: BUCKET,
    endpoint: spec.endpoint,
    credentials: { accessKeyId: spec.accessKeyId, secretAccessKey: spec.secretAccessKey },
    partSize: 8 * MiB,
    queueSize: 4,
  });
}

async function child(args: ChildArgs): Promise<ChildResult> {
  const store = open(args.store);
  const started = process.hrtime.bigint();
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  if (args.op === 'put') {
    bytes = (await store.put('bench/blob.bin', generated(args.mb, hash))).size;
  } else {
    for await (const c of await store.get('bench/blob.bin')) {
      hash.update(c as Buffer);
      bytes += (c as Buffer).length;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (store instanceof S3BlobStore) store.destroy();
  return { seconds, bytes, sha256: hash.digest('hex'), peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

function runChild(args: ChildArgs): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, '--child', JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as ChildResult) : reject(new Error(`${args.op} on ${args.store.kind} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const mb = Number(process.argv[2] ?? 200);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-bench-storage-'));
  const s3 = await startVersitygw({ buckets: [BUCKET] });
  try {
    const stores: [string, ChildArgs['store']][] = [
      ['local folder', { kind: 'local', root: path.join(dir, 'local') }],
      ['S3 (versitygw, 8 MiB x 4 parts)', { kind: 's3', endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }],
    ];
    console.log(`| store | op | ${mb} MB | MB/s | peak RSS |`);
    console.log('|---|---|---|---|---|');
    for (const [name, store] of stores) {
      const put = await runChild({ op: 'put', store, mb });
      const get = await runChild({ op: 'get', store, mb });
      if (put.sha256 !== get.sha256 || put.bytes !== get.bytes) throw new Error(`${name}: read back different bytes`);
      for (const [op, r] of [['put', put], ['get', get]] as const) {
        console.log(`| ${name} | ${op} | ${r.seconds.toFixed(2)} s | ${(r.bytes / MiB / r.seconds).toFixed(0)} | ${r.peakRssMb.toFixed(0)} MB |`);
      }
    }
  } finally {
    await s3.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  child(JSON.parse(process.argv[3]!) as ChildArgs).then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
