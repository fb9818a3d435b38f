/**
 * The embedded Temporal dev server (`temporal server start-dev`, SQLite file, Web UI) behind `npm start`,
 * `anybatch dev` and the tests. One server per SQLite file: a state file beside it (`<db>.json`, created
 * exclusively) names the server's pid and address, so a second start reuses that server (wherever its
 * port went) and a stale file (dead pid) is taken over. Without one, an already running Temporal on the
 * port is reused; a port held by something else moves the server to a free one.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { AnybatchError } from '../errors';
import { searchAttributeFlags } from '../contract/search-attributes';
import { findTool } from './tools';

export interface DevServerOptions {
  /** Frontend port (default 7233; 0 or taken by something that is not Temporal: a free one). */
  port?: number;
  /** Web UI port (default port + 1000; `null` for no UI). */
  uiPort?: number | null;
  /** SQLite file; the data survives restarts. */
  dbFile: string;
  namespace?: string;
  /** Server output goes here (appended). */
  logFile?: string;
  /** How long to wait for the server to answer, ours or the one the state file names (default 60 s). */
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  /** False when an already running server was reused. */
  started: boolean;
  /** The server's pid, when known (started here, or found in the state file). */
  pid?: number;
  /** The state file beside the database (absent when a foreign Temporal on the port was reused). */
  stateFile?: string;
  /** Resolves when a server started here exits (on `stop()` or by itself). */
  exited?: Promise<void>;
  /** Stops a server started here (and removes its state file); does nothing for a reused one. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

export function portInUse(port: number, host = HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function freePort(host = HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when a Temporal frontend answers at `address`. */
export async function isTemporal(address: string, timeoutMs = 3000): Promise<boolean> {
  const m = /^(.+):(\d+)$/.exec(address);
  // A closed port is known at once; the gRPC client would retry until its deadline.
  if (m && !(await portInUse(Number(m[2]), m[1]!.replace(/^\[|\]$/g, '')))) return false;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function waitForTemporal(
  address: string,
  child: ChildProcess,
  timeoutMs: number,
  logFile?: string,
  spawnError?: () => Error | null,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const failed = spawnError?.();
    if (failed) throw new Error(`cannot run temporal server start-dev: ${failed.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`temporal server start-dev exited with ${child.exitCode ?? child.signalCode}${tail ? `:\n${tail}` : ''}`);
    }
    if (await isTemporal(address, 2000)) return;
    await sleep(250);
  }
  throw new Error(`Temporal did not answer at ${address} within ${Math.round(timeoutMs / 1000)} s`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The state file beside the SQLite file (`temporal.db.json`): which process serves that database, and
 * where. Created exclusively (`wx`) before a server is started, so two starts never run two servers on
 * one file; removed when that server stops.
 */
export interface DevServerState {
  /** The Temporal server's pid (while ports are being chosen, the starting process's pid). */
  pid: number;
  /** The process's start time (Linux, from /proc): tells a live server from a reused pid. */
  procStart: string | null;
  /** `host:port` once the server was spawned; null while starting. */
  address: string | null;
  uiUrl: string | null;
  dbFile: string;
  /** ISO time the state was written. */
  startedAt: string;
  /** The process that started the server. */
  ownerPid: number;
  /** Identifies one start, so a process releases only its own state file. */
  token: string;
}

export function devServerStateFile(dbFile: string): string {
  return `${path.resolve(dbFile)}.json`;
}

/** `/proc/<pid>/stat`: the start time (field 22) and the state letter; null where there is no /proc. */
function procStat(pid: number): { start: string; state: string } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] ?? '' };
  } catch {
    return null;
  }
}

export function processAlive(pid: number, procStart: string | null = null): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: alive, another user's
  }
  const stat = procStat(pid);
  if (stat && (stat.state === 'Z' || stat.state === 'X')) return false;
  if (stat && procStart && stat.start !== procStart) return false; // the pid was reused
  return true;
}

function readRaw(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function parseState(raw: string): DevServerState | null {
  try {
    const s = JSON.parse(raw) as DevServerState;
    return s && typeof s === 'object' && Number.isInteger(s.pid) ? s : null;
  } catch {
    return null;
  }
}

export function readDevServerState(dbFile: string): DevServerState | null {
  const raw = readRaw(devServerStateFile(dbFile));
  return raw === null ? null : parseState(raw);
}

/** Replaces the state file atomically (write a temp file, rename over). */
function writeState(file: string, state: DevServerState): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** Creates the state file if there is none; false when another start holds it. */
function claim(file: string, state: DevServerState): boolean {
  try {
    fs.writeFileSync(file, JSON.stringify(state, null, 2) + '\n', { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Removes a stale state file, but only the one we judged stale: it is renamed aside first (one rename
 * wins), and put back if it turns out to be another start's fresh file.
 */
function removeStale(file: string, staleRaw: string): void {
  const aside = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    if (readRaw(aside) !== staleRaw) fs.linkSync(aside, file); // not ours to remove: put it back (unless replaced)
  } catch {
    // a newer state file is already in place
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

/** Removes the state file if it is still the one written with `token`. */
function release(file: string, token: string): void {
  const raw = readRaw(file);
  if (raw !== null && parseState(raw)?.token === token) removeStale(file, raw);
}

function uiUrlOf(uiPort: number | null): string | null {
  return uiPort === null ? null : `http://${HOST}:${uiPort}`;
}

async function liveUi(uiUrl: string | null): Promise<string | null> {
  const port = uiUrl ? Number(new URL(uiUrl).port) : NaN;
  return Number.isInteger(port) && port > 0 && (await portInUse(port)) ? uiUrl : null;
}

/**
 * Starts a Temporal dev server on `dbFile`, or reuses the one already serving it (see the state file),
 * or a Temporal already answering on the requested port. Fails with a clear error when a live process
 * holds the database but does not answer within `startTimeoutMs`.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const dbFile = path.resolve(opts.dbFile);
  const stateFile = devServerStateFile(dbFile);
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  let unreadableSince: number | null = null;
  for (;;) {
    const token = crypto.randomBytes(8).toString('hex');
    const starting: DevServerState = {
      pid: process.pid,
      procStart: procStat(process.pid)?.start ?? null,
      address: null,
      uiUrl: null,
      dbFile,
      startedAt: new Date().toISOString(),
      ownerPid: process.pid,
      token,
    };
    if (claim(stateFile, starting)) return launch(opts, dbFile, stateFile, starting, timeoutMs);

    const raw = readRaw(stateFile);
    if (raw === null) continue; // released meanwhile: claim again
    const state = parseState(raw);
    if (!state) {
      // Just created and not yet written, or damaged: give the writer a moment, then take over.
      unreadableSince ??= Date.now();
      if (Date.now() - unreadableSince > 2000) {
        removeStale(stateFile, raw);
        unreadableSince = null;
      } else await sleep(50);
      continue;
    }
    unreadableSince = null;
    if (!processAlive(state.pid, state.procStart)) {
      removeStale(stateFile, raw); // the server that wrote it is gone
      continue;
    }
    if (state.address && (await isTemporal(state.address, 2000))) {
      return { address: state.address, uiUrl: await liveUi(state.uiUrl), started: false, pid: state.pid, stateFile, stop: async () => undefined };
    }
    if (Date.now() >= deadline) {
      throw new AnybatchError(
        'temporal_db_in_use',
        `The Temporal database ${dbFile} is in use by process ${state.pid}` +
          `${state.address ? `, which does not answer as Temporal at ${state.address}` : ', which is still starting a server'}` +
          ` after ${Math.round(timeoutMs / 1000)} s (state file ${stateFile}). ` +
          `Stop that process (kill ${state.pid}) and try again, or use another ANYBATCH_HOME.`,
      );
    }
    await sleep(250);
  }
}

/** Starts the server while holding the state file (`lock`); releases it on any failure. */
async function launch(opts: DevServerOptions, dbFile: string, stateFile: string, lock: DevServerState, timeoutMs: number): Promise<DevServer> {
  let child: ChildProcess | undefined;
  let token = lock.token;
  try {
    let port = opts.port ?? 7233;
    if (port === 0) port = await freePort();
    else if (await portInUse(port)) {
      const reuseAddress = `${HOST}:${port}`;
      if (await isTemporal(reuseAddress)) {
        // Someone else's Temporal on the port: use it, as it is not ours to manage.
        release(stateFile, token);
        const uiPort = opts.uiPort === undefined ? port + 1000 : opts.uiPort;
        return { address: reuseAddress, uiUrl: await liveUi(uiUrlOf(uiPort)), started: false, stop: async () => undefined };
      }
      port = await freePort();
    }
    let uiPort = opts.uiPort === undefined ? port + 1000 : opts.uiPort;
    if (uiPort !== null && (uiPort === 0 || (await portInUse(uiPort)))) uiPort = await freePort();

    const args = ['server', 'start-dev', '--ip', HOST, '--port', String(port), '--db-filename', dbFile, '--log-level', 'warn'];
    args.push('--namespace', opts.namespace ?? 'default');
    if (uiPort === null) args.push('--headless');
    else args.push('--ui-port', String(uiPort));
    args.push(...searchAttributeFlags());

    const log = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
    let spawnError: Error | null = null;
    try {
      child = spawn(findTool('temporal'), args, { stdio: ['ignore', log, log], detached: false });
    } finally {
      if (typeof log === 'number') fs.closeSync(log);
    }
    const server = child;
    server.once('error', (err) => (spawnError = err));
    const address = `${HOST}:${port}`;
    const uiUrl = uiUrlOf(uiPort);
    if (server.pid !== undefined) {
      // From now on the state file names the server itself: it is valid for as long as the server lives.
      token = crypto.randomBytes(8).toString('hex');
      const state: DevServerState = {
        pid: server.pid,
        procStart: procStat(server.pid)?.start ?? null,
        address,
        uiUrl,
        dbFile,
        startedAt: new Date().toISOString(),
        ownerPid: process.pid,
        token,
      };
      writeState(stateFile, state);
    }
    const serverToken = token;
    const exited = new Promise<void>((resolve) => {
      server.once('exit', () => {
        release(stateFile, serverToken);
        resolve();
      });
      server.once('error', () => resolve());
    });
    await waitForTemporal(address, server, timeoutMs, opts.logFile, () => spawnError);
    return {
      address,
      uiUrl,
      started: true,
      pid: server.pid,
      stateFile,
      exited,
      stop: async () => {
        await stopProcess(server);
        release(stateFile, serverToken);
      },
    };
  } catch (err) {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    release(stateFile, token);
    throw err;
  }
}

export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
