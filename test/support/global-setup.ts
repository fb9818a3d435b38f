/**
 * Starts one real Temporal dev server (SQLite in a temp folder, headless) for the whole test run.
 * Its address reaches the suites as ANYBATCH_TEST_TEMPORAL_ADDRESS.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer } from '../../src/temporal/devserver';
import type { DevServer } from '../../src/temporal/devserver';

declare global {
  // eslint-disable-next-line no-var
  var __ANYBATCH_DEV_SERVER__: DevServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-temporal-'));
  const server = await startDevServer({
    port: await freePort(),
    uiPort: null,
    dbFile: path.join(dir, 'temporal.db'),
    logFile: path.join(dir, 'temporal.log'),
    startTimeoutMs: 120_000,
  });
  globalThis.__ANYBATCH_DEV_SERVER__ = server;
  process.env.ANYBATCH_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.ANYBATCH_TEST_TEMPORAL_DIR = dir;
}
