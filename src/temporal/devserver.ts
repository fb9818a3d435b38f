/**
 * The embedded Temporal dev server (`temporal server start-dev`, SQLite file, Web UI) behind `npm start`,
 * `anybatch dev` and the tests. An already running Temporal on the port is reused; a port held by
 * something else moves the server to a free one.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../search-attributes';
import { findTool } from './tools';

export interface DevServerOptions {
  /** Frontend port (default 7233; a free one if taken by something that is not Temporal). */
  port?: number;
  /** Web UI port (default port + 1000; `null` for no UI). */
  uiPort?: number | null;
  /** SQLite file; the data survives restarts. */
  dbFile: string;
  namespace?: string;
  /** Server output goes here (appended). */
  logFile?: string;
  /** How long to wait for the server to answer (default 60 s). */
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  /** False when an already running server was reused. */
  started: boolean;
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

async function waitForTemporal(address: string, child: ChildProcess, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const tail = logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`temporal server start-dev exited with code ${child.exitCode}${tail ? `:\n${tail}` : ''}`);
    }
    if (await isTemporal(address, 2000)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Temporal did not answer at ${address} within ${Math.round(timeoutMs / 1000)} s`);
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  let port = opts.port ?? 7233;
  const reuseAddress = `${HOST}:${port}`;
  if (await portInUse(port)) {
    if (await isTemporal(reuseAddress)) {
      const uiPort = opts.uiPort === undefined ? port + 1000 : opts.uiPort;
      const uiUrl = uiPort !== null && (await portInUse(uiPort)) ? `http://${HOST}:${uiPort}` : null;
      return { address: reuseAddress, uiUrl, started: false, stop: async () => undefined };
    }
    port = await freePort();
  }
  let uiPort = opts.uiPort === undefined ? port + 1000 : opts.uiPort;
  if (uiPort !== null && (await portInUse(uiPort))) uiPort = await freePort();

  fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = ['server', 'start-dev', '--ip', HOST, '--port', String(port), '--db-filename', opts.dbFile, '--log-level', 'warn'];
  args.push('--namespace', opts.namespace ?? 'default');
  if (uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  args.push(...searchAttributeFlags());

  const log = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(findTool('temporal'), args, { stdio: ['ignore', log, log], detached: false });
  if (typeof log === 'number') fs.closeSync(log);
  const address = `${HOST}:${port}`;
  try {
    await waitForTemporal(address, child, opts.startTimeoutMs ?? 60_000, opts.logFile);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    uiUrl: uiPort === null ? null : `http://${HOST}:${uiPort}`,
    started: true,
    stop: () => stopProcess(child),
  };
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
