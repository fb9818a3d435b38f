/**
 * One Temporal dev server per SQLite file: the state file beside it (`temporal.db.json`) makes a second
 * start reuse the first server (wherever its port went), lets a start take over a stale file, and fails
 * clearly when a live process holds the file without answering.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { devServerStateFile, freePort, isTemporal, readDevServerState, startDevServer } from '../../src/temporal/devserver';
import type { DevServer, DevServerState } from '../../src/temporal/devserver';
import { temporalAddress } from '../support/env';

const dirs: string[] = [];
const servers: DevServer[] = [];

function tempDb(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-devserver-'));
  dirs.push(dir);
  return path.join(dir, 'temporal.db');
}

async function start(dbFile: string, opts: { port?: number; startTimeoutMs?: number } = {}): Promise<DevServer> {
  const server = await startDevServer({
    port: opts.port ?? 0,
    uiPort: null,
    dbFile,
    logFile: path.join(path.dirname(dbFile), 'temporal.log'),
    startTimeoutMs: opts.startTimeoutMs ?? 60_000,
  });
  servers.push(server);
  return server;
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

function writeState(dbFile: string, state: Partial<DevServerState>): void {
  const full: DevServerState = {
    pid: 0,
    procStart: null,
    address: null,
    uiUrl: null,
    dbFile,
    startedAt: new Date().toISOString(),
    ownerPid: 0,
    token: 'test',
    ...state,
  };
  fs.writeFileSync(devServerStateFile(dbFile), JSON.stringify(full));
}

afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('a second start on the same database reuses the first server, even after its port moved; after a stop the next start takes over', async () => {
  const dbFile = tempDb();
  // The requested port is held by something that is not Temporal: the first server moves to a free port.
  const blocker = net.createServer((s) => s.destroy());
  const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)));
  try {
    const first = await start(dbFile, { port });
    expect(first.started).toBe(true);
    expect(first.address).not.toBe(`127.0.0.1:${port}`);
    const state = readDevServerState(dbFile);
    expect(state).toMatchObject({ pid: first.pid, address: first.address, dbFile });

    const t0 = Date.now();
    const second = await start(dbFile, { port });
    expect(second).toMatchObject({ address: first.address, started: false, pid: first.pid });
    expect(Date.now() - t0).toBeLessThan(10_000);
    await second.stop(); // a reused server is not ours to stop
    expect(await isTemporal(first.address)).toBe(true);

    await first.stop();
    expect(fs.existsSync(devServerStateFile(dbFile))).toBe(false);
    expect(await isTemporal(first.address, 1000)).toBe(false);

    const third = await start(dbFile, { port });
    expect(third.started).toBe(true);
    expect(readDevServerState(dbFile)?.pid).toBe(third.pid);
    await third.stop();
    expect(fs.existsSync(devServerStateFile(dbFile))).toBe(false);
  } finally {
    blocker.close();
  }
});

test('two concurrent starts on one database run one server', async () => {
  const dbFile = tempDb();
  const [a, b] = await Promise.all([start(dbFile), start(dbFile)]);
  expect([a.started, b.started].sort()).toEqual([false, true]);
  expect(a.address).toBe(b.address);
  const owner = a.started ? a : b;
  expect(readDevServerState(dbFile)?.pid).toBe(owner.pid);
  await a.stop();
  await b.stop();
  expect(fs.existsSync(devServerStateFile(dbFile))).toBe(false);
});

test('a stale state file (its pid is dead) is taken over', async () => {
  const dbFile = tempDb();
  const pid = await deadPid();
  writeState(dbFile, { pid, ownerPid: pid, address: `127.0.0.1:${await freePort()}` });
  const server = await start(dbFile);
  expect(server.started).toBe(true);
  expect(server.pid).not.toBe(pid);
  expect(readDevServerState(dbFile)).toMatchObject({ pid: server.pid, address: server.address });
  await server.stop();
  expect(fs.existsSync(devServerStateFile(dbFile))).toBe(false);
});

test('a live process holding the database without answering fails clearly, naming the pid and the file', async () => {
  const dbFile = tempDb();
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    writeState(dbFile, { pid: holder.pid!, ownerPid: holder.pid!, address: `127.0.0.1:${await freePort()}` });
    const t0 = Date.now();
    const err = (await start(dbFile, { startTimeoutMs: 1500 }).catch((e: unknown) => e)) as Error & { code?: string };
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('temporal_db_in_use');
    expect(err.message).toContain(String(holder.pid));
    expect(err.message).toContain(dbFile);
    expect(err.message).toMatch(/kill \d+/);
    expect(err.message).toContain('ANYBATCH_HOME');
    expect(fs.existsSync(devServerStateFile(dbFile))).toBe(true); // not ours to remove
  } finally {
    holder.kill('SIGKILL');
  }
});

test('a Temporal already answering on the requested port (not ours) is reused, leaving no state file', async () => {
  const dbFile = tempDb();
  const address = temporalAddress();
  const server = await start(dbFile, { port: Number(address.split(':').pop()) });
  expect(server).toMatchObject({ address, started: false });
  expect(fs.existsSync(devServerStateFile(dbFile))).toBe(false);
});
