/**
 * A real environment for integration suites: the run's Temporal dev server, a sandbox provider and an
 * in-process worker on a task queue of the suite's own, with ANYBATCH_HOME in a temp folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import { createWorker } from '../../worker';
import { workerLogger } from '../../src/logging';
import { startSandbox } from '../../src/sandbox';
import type { Sandbox, SandboxOptions } from '../../src/sandbox';
import type { ClientOptions } from '../../src/api';

export interface TestEnv {
  address: string;
  taskQueue: string;
  home: string;
  sandbox: Sandbox;
  client: Client;
  /** Options for the public API pointing at this environment. */
  options: ClientOptions;
  apiBase: string;
  worker: Worker | null;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  teardown(): Promise<void>;
}

/** Worker logs at WARN so test output shows what matters. */
export function quietRuntime(): void {
  try {
    Runtime.install({ logger: workerLogger('WARN') });
  } catch {
    // already installed in this process
  }
}

export function temporalAddress(): string {
  const address = process.env.ANYBATCH_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('ANYBATCH_TEST_TEMPORAL_ADDRESS is not set: run through jest (test/support/global-setup.ts)');
  return address;
}

export async function startTestEnv(sandboxOptions: SandboxOptions = {}, opts: { worker?: boolean } = {}): Promise<TestEnv> {
  quietRuntime();
  const address = temporalAddress();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-home-'));
  process.env.ANYBATCH_HOME = home;
  const taskQueue = `test-${crypto.randomBytes(4).toString('hex')}`;
  const sandbox = await startSandbox({ rate: 200, validationMs: 100, finalizingMs: 100, cancellingMs: 100, ...sandboxOptions });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  let running: Promise<void> | null = null;
  const env: TestEnv = {
    address,
    taskQueue,
    home,
    sandbox,
    client,
    options: { temporal: { client }, taskQueue },
    apiBase: `${sandbox.url}/v1`,
    worker: null,
    async startWorker() {
      env.worker = await createWorker({ address, taskQueue, worker: { shutdownGraceTime: '1s' } });
      running = env.worker.run();
    },
    async stopWorker() {
      if (env.worker && running) {
        env.worker.shutdown();
        await running;
      }
      env.worker = null;
      running = null;
    },
    async teardown() {
      await env.stopWorker();
      await connection.close();
      await sandbox.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
  if (opts.worker !== false) await env.startWorker();
  return env;
}

/** Writes a chat-completions JSONL input of `n` requests and returns its path. */
export function writeChatInput(dir: string, n: number, opts: { prefix?: string; model?: string; name?: string } = {}): string {
  const file = path.join(dir, opts.name ?? `input-${crypto.randomBytes(3).toString('hex')}.jsonl`);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(
      JSON.stringify({
        custom_id: `${opts.prefix ?? 'req'}-${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: opts.model ?? 'gpt-4o-mini', messages: [{ role: 'user', content: `Question number ${i}: what is ${i} + ${i}?` }], max_tokens: 50 },
      }),
    );
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export function readJsonl<T = Record<string, unknown>>(file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 60_000, stepMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}
