/** Runs the built `anybatch` CLI (dist/client.js) as a user would: a child process pointed at a test environment. */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'dist', 'client.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `env` gives the Temporal address, task queue and data folder; `extraEnv` overrides any variable. */
export function runCli(env: { address: string; taskQueue: string; home: string }, args: string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, ANYBATCH_TASK_QUEUE: env.taskQueue, ANYBATCH_HOME: env.home, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
