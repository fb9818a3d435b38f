/**
 * Temporal out of reach: the public API, the worker and the CLI fail within seconds with
 * TemporalUnavailableError (CLI: exit 1), naming the address tried and how to set it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createBatch, listBatches, loadBatch } from '../../src/api';
import { TemporalUnavailableError } from '../../src/errors';
import { closeTemporalClients, temporalClient } from '../../src/temporal/client';
import { freePort } from '../../src/temporal/devserver';
import { createWorker } from '../../worker';
import { quietRuntime, writeChatInput } from '../support/env';

const CLI = path.join(__dirname, '..', '..', 'dist', 'client.js');
/** Generous: the target is a few seconds (a refused port fails in well under one). */
const BOUND_MS = 10_000;

let home: string;
let closed: string;
const savedHome = process.env.ANYBATCH_HOME;

beforeAll(async () => {
  quietRuntime();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-unavailable-'));
  process.env.ANYBATCH_HOME = home;
  closed = `127.0.0.1:${await freePort()}`; // nothing listens there
});
afterAll(async () => {
  await closeTemporalClients();
  if (savedHome === undefined) delete process.env.ANYBATCH_HOME;
  else process.env.ANYBATCH_HOME = savedHome;
  fs.rmSync(home, { recursive: true, force: true });
});

async function failure(call: () => Promise<unknown>): Promise<{ err: TemporalUnavailableError; ms: number }> {
  const t0 = Date.now();
  const err = await call().then(
    () => null,
    (e: unknown) => e,
  );
  const ms = Date.now() - t0;
  expect(err).toBeInstanceOf(TemporalUnavailableError);
  return { err: err as TemporalUnavailableError, ms };
}

function expectHelpful(err: TemporalUnavailableError, address: string): void {
  expect(err.code).toBe('temporal_unavailable');
  expect(err.address).toBe(address);
  expect(err.message).toContain(`Cannot reach Temporal at ${address}`);
  expect(err.message).toContain('npx anybatch dev');
  expect(err.message).toContain('TEMPORAL_ADDRESS');
  expect(err.message).toContain('--address');
}

test('the public API fails fast on a closed port', async () => {
  const temporal = { address: closed };
  const input = writeChatInput(home, 2);
  for (const call of [
    () => createBatch('openai', input, '/v1/chat/completions', { temporal }),
    () => loadBatch('ab_0mx000000000000000000000', { temporal }),
    () => listBatches('openai', { temporal }),
  ]) {
    const { err, ms } = await failure(call);
    expectHelpful(err, closed);
    expect(err.message).toContain('connection refused');
    expect(ms).toBeLessThan(BOUND_MS);
  }
  // The staged copy of a batch that could not start is removed.
  expect(fs.readdirSync(path.join(home, 'inputs')).filter((f) => !f.startsWith('.'))).toEqual([]);
});

test('createWorker fails fast on a closed port', async () => {
  const { err, ms } = await failure(() => createWorker({ address: closed }));
  expectHelpful(err, closed);
  expect(ms).toBeLessThan(BOUND_MS);
  const native = await failure(() => createWorker({ address: closed, skipSearchAttributes: true }));
  expectHelpful(native.err, closed);
  expect(native.ms).toBeLessThan(BOUND_MS);
});

test('a port that accepts connections but is not Temporal fails after the connect timeout', async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => sockets.add(s)); // accepts, never answers
  const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as net.AddressInfo).port)));
  try {
    const address = `127.0.0.1:${port}`;
    const { err, ms } = await failure(() => temporalClient({ address, connectTimeoutMs: 1000 }));
    expectHelpful(err, address);
    expect(err.message).toMatch(/no Temporal answered within 1 s/);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(5000);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

interface Run {
  code: number | null;
  stderr: string;
  ms: number;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ANYBATCH_HOME: home, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr, ms: Date.now() - t0 }));
  });
}

test('the CLI exits 1 within seconds with one line naming the address', async () => {
  const input = writeChatInput(home, 2);
  for (const [args, env] of [
    [['list', '--address', closed], {}],
    [['get', 'ab_0mx000000000000000000000'], { TEMPORAL_ADDRESS: closed }],
    [['create', input, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--address', closed], {}],
    [['worker', '--address', closed], {}],
  ] as [string[], Record<string, string>][]) {
    const run = await cli(args, env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`anybatch: Cannot reach Temporal at ${closed} (connection refused).`);
    expect(run.stderr).toContain('TEMPORAL_ADDRESS');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.ms).toBeLessThan(BOUND_MS);
  }
});
