/**
 * A local S3-compatible server for the tests, the benchmark and local multi-host experiments: versitygw
 * (Versity S3 Gateway, Apache-2.0) with its posix backend in a folder, on a loopback port, with fixed
 * credentials. `npm run setup` installs it with `go install` when Go is there (see scripts/setup.js).
 * It lives in src/ (not test/) because the benchmark's S3 rows start it too.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { AnybatchError } from '../errors';
import { stopProcess } from '../temporal/devserver';
import { packageRoot } from '../temporal/tools';

export const VERSITYGW_VERSION = 'v1.8.0';
export const VERSITYGW_MODULE = 'github.com/versity/versitygw/cmd/versitygw';
const ENV_OVERRIDE = 'ANYBATCH_VERSITYGW';

export function versitygwInstallHint(): string {
  return (
    `versitygw (the S3 server the storage tests run against) is not installed. Run \`npm run setup\` (it builds it when Go ` +
    `is installed: https://go.dev/dl/), or install it yourself: \`GOBIN="$PWD/.tools/bin" go install ${VERSITYGW_MODULE}@${VERSITYGW_VERSION}\` ` +
    `(about a minute the first time), or set ${ENV_OVERRIDE} to its path.`
  );
}

function executable(p: string | undefined): p is string {
  if (!p) return false;
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The versitygw binary: $ANYBATCH_VERSITYGW, the one setup recorded, .tools/bin, PATH, then Go's bin folders. */
export function findVersitygw(): string {
  const override = process.env[ENV_OVERRIDE];
  if (override) {
    if (executable(override)) return override;
    throw new AnybatchError('tool_missing', `${ENV_OVERRIDE}=${override} is not an executable file. ${versitygwInstallHint()}`);
  }
  const root = packageRoot();
  const candidates: (string | undefined)[] = [];
  try {
    const record = JSON.parse(fs.readFileSync(path.join(root, '.anybatch-tools.json'), 'utf8')) as { versitygw?: string };
    candidates.push(record.versitygw);
  } catch {
    // no record
  }
  candidates.push(path.join(root, '.tools', 'bin', 'versitygw'));
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'versitygw'));
  if (process.env.GOBIN) candidates.push(path.join(process.env.GOBIN, 'versitygw'));
  for (const gopath of (process.env.GOPATH ?? path.join(os.homedir(), 'go')).split(path.delimiter)) {
    if (gopath) candidates.push(path.join(gopath, 'bin', 'versitygw'));
  }
  const found = candidates.find(executable);
  if (found) return found;
  throw new AnybatchError('tool_missing', versitygwInstallHint());
}

export interface VersitygwOptions {
  /** Data folder of the posix backend (buckets are its sub-folders). Default: a temp folder, removed on stop. */
  dataDir?: string;
  /** Loopback port (default: a free one). */
  port?: number;
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  /** Buckets to create once it answers. */
  buckets?: string[];
  /** Server output goes here (default: a file beside the data folder). */
  logFile?: string;
  startTimeoutMs?: number;
}

export interface VersitygwServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dataDir: string;
  logFile: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The versitygw module version a binary was built from (`go version -m`), when Go is there to say. */
export function versitygwBuildVersion(binary: string): string | null {
  const r = spawnSync('go', ['version', '-m', binary], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return null;
  const m = /^\s*mod\s+github\.com\/versity\/versitygw\s+(\S+)/m.exec(r.stdout);
  return m ? m[1]! : null;
}

/** Starts versitygw on loopback, waits until it answers and creates `buckets`. */
export async function startVersitygw(opts: VersitygwOptions = {}): Promise<VersitygwServer> {
  const binary = findVersitygw();
  const ownDir = opts.dataDir ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-s3-'));
  const dataDir = opts.dataDir ?? path.join(ownDir!, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const logFile = opts.logFile ?? path.join(ownDir ?? path.dirname(dataDir), 'versitygw.log');
  const accessKeyId = opts.accessKeyId ?? 'ANYBATCHTESTKEY';
  const secretAccessKey = opts.secretAccessKey ?? 'anybatch-test-secret-key';
  const region = opts.region ?? 'us-east-1';
  const timeoutMs = opts.startTimeoutMs ?? 20_000;

  const cleanup = () => {
    if (ownDir) fs.rmSync(ownDir, { recursive: true, force: true });
  };
  let lastError: Error | null = null;
  // A free port can be taken between choosing and binding it: try a few.
  for (let attempt = 0; attempt < (opts.port ? 1 : 3); attempt++) {
    const port = opts.port ?? (await freePort());
    const log = fs.openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      // Credentials through the environment, not argv (which `ps` shows).
      child = spawn(binary, ['--port', `${HOST}:${port}`, '--region', region, '--quiet', 'posix', dataDir], {
        stdio: ['ignore', log, log],
        env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
      });
    } finally {
      fs.closeSync(log);
    }
    let spawnError: Error | null = null;
    child.once('error', (err) => (spawnError = err));
    const endpoint = `http://${HOST}:${port}`;
    try {
      await waitForServer(endpoint, child, timeoutMs, logFile, () => spawnError);
    } catch (err) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      lastError = err as Error;
      continue;
    }
    const server: VersitygwServer = {
      endpoint,
      port,
      accessKeyId,
      secretAccessKey,
      region,
      dataDir,
      logFile,
      pid: child.pid,
      stop: async () => {
        await stopProcess(child, 5000);
        cleanup();
      },
    };
    try {
      await createBuckets(server, opts.buckets ?? []);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }
  cleanup();
  throw lastError ?? new Error('versitygw did not start');
}

async function waitForServer(endpoint: string, child: ChildProcess, timeoutMs: number, logFile: string, spawnError: () => Error | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const failed = spawnError();
    if (failed) throw new AnybatchError('tool_failed', `Cannot run versitygw: ${failed.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      const t = tail(logFile);
      throw new AnybatchError('tool_failed', `versitygw exited with ${child.exitCode ?? child.signalCode}${t ? `:\n${t}` : ''} (log: ${logFile})`);
    }
    try {
      await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1000) });
      return; // any HTTP answer (403 without credentials) means it serves
    } catch {
      await sleep(50);
    }
  }
  throw new AnybatchError('tool_failed', `versitygw did not answer at ${endpoint} within ${Math.round(timeoutMs / 1000)} s (log: ${logFile})`);
}

async function createBuckets(server: VersitygwServer, buckets: string[]): Promise<void> {
  if (buckets.length === 0) return;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    for (const Bucket of buckets) {
      try {
        await client.send(new CreateBucketCommand({ Bucket }));
      } catch (err) {
        if ((err as Error).name !== 'BucketAlreadyOwnedByYou') throw err;
      }
    }
  } finally {
    client.destroy();
  }
}
