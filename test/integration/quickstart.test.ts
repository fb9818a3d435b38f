/**
 * `npm start` off a terminal (as in CI or a pipe): the example batch completes, the server it started is
 * stopped, and no dead Web UI link is printed (only how to bring the UI back).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { devServerStateFile } from '../../src/temporal/devserver';

const CLI = path.join(__dirname, '..', '..', 'dist', 'client.js');

test('quickstart off a terminal stops its server and prints no dead link', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-quickstart-'));
  try {
    const t0 = Date.now();
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'quickstart'], { env: { ...process.env, ANYBATCH_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    const ms = Date.now() - t0;
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/ab_\w+\s+completed/);
    const id = /(ab_[0-9a-z]+)\s+completed/.exec(run.stdout)![1];
    const page = `/namespaces/default/workflows/${id}`;

    if (/already running/.test(run.stderr)) {
      // Port 7233 answers with a Temporal of someone else's: it stays up, so its link is live.
      const link = /Temporal Web UI: (\S+)/.exec(run.stdout)?.[1];
      if (link) expect((await fetch(link)).status).toBeLessThan(500);
    } else {
      expect(run.stdout).not.toContain('Temporal Web UI:');
      expect(run.stdout).toContain('Temporal stopped with this run');
      expect(run.stdout).toMatch(/^\s+npx anybatch dev$|ANYBATCH_HOME=\S+ npx anybatch dev/m);
      expect(run.stdout).toContain(page);
      // The server is gone with its state file; its data stays for `anybatch dev`.
      expect(fs.existsSync(devServerStateFile(path.join(home, 'temporal.db')))).toBe(false);
      expect(fs.existsSync(path.join(home, 'temporal.db'))).toBe(true);
    }
    expect(ms).toBeLessThan(60_000);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
