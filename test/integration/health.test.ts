/**
 * `anybatch health` (the compose worker's healthcheck) as a container runs it: a child process of the built
 * CLI against the run's Temporal dev server, with a worker of this host polling the suite's task queue.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { eventually, startTestEnv } from '../support/env';
import type { TestEnv } from '../support/env';
import { runCli } from '../support/cli';
import { freshPoller, HEALTH_MAX_POLL_AGE_MS } from '../../src/cli/health';
import { testS3Env } from '../support/s3';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const anybatch = (args: string[], extraEnv: Record<string, string> = {}) => runCli(env, args, extraEnv);

const oneLine = (s: string): string[] => s.trim().split('\n');

test('exits 0 while a worker of this host polls the task queue', async () => {
  // The worker starts polling right after it is created; give Temporal a moment to record the poller.
  const run = await eventually(async () => {
    const r = await anybatch(['health']);
    return r.code === 0 ? r : null;
  }, 30_000, 500);
  expect(run.stderr).toBe('');
  expect(oneLine(run.stdout)).toHaveLength(1);
  expect(run.stdout).toMatch(new RegExp(`^ok: \\d+@${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} polls task queue "${env.taskQueue}"`));
});

test('exits 1 with one line when no worker polls the task queue', async () => {
  const queue = `nobody-${crypto.randomBytes(4).toString('hex')}`;
  const run = await anybatch(['health', '--task-queue', queue]);
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  expect(oneLine(run.stderr)).toHaveLength(1);
  expect(run.stderr).toContain(`no worker of this host (${os.hostname()}) polls task queue "${queue}"`);
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
});

test('--any accepts a worker of any host, and still fails on a queue nobody polls', async () => {
  const ok = await anybatch(['health', '--any']);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/^ok: /);
  const queue = `nobody-${crypto.randomBytes(4).toString('hex')}`;
  const none = await anybatch(['health', '--any', '--task-queue', queue]);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain(`no worker polls task queue "${queue}"`);
});

test('exits 1 with one line when Temporal is unreachable', async () => {
  const run = await anybatch(['health', '--address', '127.0.0.1:1']);
  expect(run.code).toBe(1);
  expect(oneLine(run.stderr)).toHaveLength(1);
  expect(run.stderr).toMatch(/(Temporal unreachable|Cannot reach Temporal) at 127\.0\.0\.1:1\b/);
}, 60_000);

describe('the blob store', () => {
  const bucketEnv = (bucket: string): Record<string, string> => {
    const e = testS3Env('health');
    return { ...e, ANYBATCH_STORAGE: `s3://${bucket}/health` };
  };

  test('health checks the S3 store too, and fails with one line naming a missing bucket (unless --no-store)', async () => {
    const ok = await anybatch(['health'], testS3Env('health'));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/; the S3 bucket "anybatch-test" \(prefix health\/\) at 127\.0\.0\.1:\d+ answers\n$/);
    const missing = `no-such-${crypto.randomBytes(3).toString('hex')}`;
    const bad = await anybatch(['health'], bucketEnv(missing));
    expect(bad.code).toBe(1);
    expect(oneLine(bad.stderr)).toHaveLength(1);
    expect(bad.stderr).toContain(`The S3 bucket "${missing}" does not exist at 127.0.0.1:`);
    const skipped = await anybatch(['health', '--no-store'], bucketEnv(missing));
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).not.toContain('S3 bucket');
  });

  test('storage init creates a missing bucket once; storage check verifies it and never creates one', async () => {
    const bucket = `init-${crypto.randomBytes(3).toString('hex')}`;
    const before = await anybatch(['storage', 'check'], bucketEnv(bucket));
    expect(before.code).toBe(1);
    expect(before.stderr).toContain(`The S3 bucket "${bucket}" does not exist`);
    const first = await anybatch(['storage', 'init'], bucketEnv(bucket));
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`ok: created the S3 bucket "${bucket}" (prefix health/)`);
    expect(first.stdout).toContain(`(s3://${bucket}/health/)`);
    const again = await anybatch(['storage', 'init'], bucketEnv(bucket));
    expect(again.stdout).toContain(`ok: found the S3 bucket "${bucket}"`);
    const check = await anybatch(['storage', 'check'], bucketEnv(bucket));
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('is reachable; a probe object was written, read back and deleted');
  });

  test('storage init names an unreachable endpoint', async () => {
    const run = await anybatch(['storage', 'init'], { ...testS3Env('health'), AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' });
    expect(run.code).toBe(1);
    expect(oneLine(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/Cannot reach the S3 endpoint 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  });
});

describe('freshPoller', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const at = (msAgo: number) => ({ seconds: Math.floor((now - msAgo) / 1000), nanos: 0 });

  test('takes the freshest poller of this host within the window', () => {
    const pollers = [
      { identity: '11@other-host', lastAccessTime: at(1_000) },
      { identity: '12@this-host', lastAccessTime: at(30_000) },
      { identity: '13@this-host', lastAccessTime: at(5_000) },
    ];
    expect(freshPoller(pollers, { hostname: 'this-host', now })).toEqual({ identity: '13@this-host', lastAccessMs: now - 5_000 });
    expect(freshPoller(pollers, { hostname: 'this-host', now, any: true })?.identity).toBe('11@other-host');
  });

  test('ignores stale pollers, other hosts and a host name that is only a suffix', () => {
    expect(freshPoller([{ identity: '12@this-host', lastAccessTime: at(HEALTH_MAX_POLL_AGE_MS + 1_000) }], { hostname: 'this-host', now })).toBeNull();
    expect(freshPoller([{ identity: '12@other-host', lastAccessTime: at(1_000) }], { hostname: 'this-host', now })).toBeNull();
    expect(freshPoller([{ identity: '12@not-this-host', lastAccessTime: at(1_000) }], { hostname: 'this-host', now })).toBeNull();
    expect(freshPoller([{ identity: '12@this-host' }], { hostname: 'this-host', now })).toBeNull();
    expect(freshPoller([], { hostname: 'this-host', now, any: true })).toBeNull();
  });
});
