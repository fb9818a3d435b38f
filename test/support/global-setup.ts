/**
 * Starts one real Temporal dev server (SQLite in a temp folder, headless) for the whole test run.
 * Its address reaches the suites as ANYBATCH_TEST_TEMPORAL_ADDRESS.
 * Also starts versitygw (an S3-compatible server, posix backend in a temp folder) for the S3 storage suites:
 * ANYBATCH_TEST_S3_ENDPOINT, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY, _REGION, _BUCKET. Without versitygw this
 * fails, saying how to install it: the S3 tests are never skipped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer } from '../../src/temporal/devserver';
import type { DevServer } from '../../src/temporal/devserver';
import { startVersitygw } from '../../src/storage/versitygw';
import type { VersitygwServer } from '../../src/storage/versitygw';

declare global {
  // eslint-disable-next-line no-var
  var __ANYBATCH_DEV_SERVER__: DevServer | undefined;
  // eslint-disable-next-line no-var
  var __ANYBATCH_S3_SERVER__: VersitygwServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const s3 = await startVersitygw({ buckets: ['anybatch-test'] });
  globalThis.__ANYBATCH_S3_SERVER__ = s3;
  process.env.ANYBATCH_TEST_S3_ENDPOINT = s3.endpoint;
  process.env.ANYBATCH_TEST_S3_ACCESS_KEY_ID = s3.accessKeyId;
  process.env.ANYBATCH_TEST_S3_SECRET_ACCESS_KEY = s3.secretAccessKey;
  process.env.ANYBATCH_TEST_S3_REGION = s3.region;
  process.env.ANYBATCH_TEST_S3_BUCKET = 'anybatch-test';

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-temporal-'));
  const server = await startDevServer({
    port: await freePort(),
    uiPort: null,
    dbFile: path.join(dir, 'temporal.db'),
    logFile: path.join(dir, 'temporal.log'),
    startTimeoutMs: 120_000,
  }).catch(async (err: unknown) => {
    await s3.stop();
    throw err;
  });
  globalThis.__ANYBATCH_DEV_SERVER__ = server;
  process.env.ANYBATCH_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.ANYBATCH_TEST_TEMPORAL_DIR = dir;
}
