/**
 * Which blob store anybatch uses, from `ANYBATCH_STORAGE`:
 * - unset or empty: the local folder ANYBATCH_HOME (default `.anybatch`), today's layout;
 * - a plain path or `file:///abs/path`: the local folder there;
 * - `s3://bucket/prefix`: S3-compatible storage, with the standard AWS settings: `AWS_ENDPOINT_URL_S3` or
 *   `AWS_ENDPOINT_URL` (a self-hosted server, R2, GCS's https://storage.googleapis.com), `AWS_REGION`
 *   (default us-east-1 with a custom endpoint), credentials from the SDK's default chain; and
 *   `ANYBATCH_S3_PATH_STYLE` (true/false; default true with a custom endpoint),
 *   `ANYBATCH_S3_CHECKSUMS` (WHEN_SUPPORTED / WHEN_REQUIRED; default WHEN_REQUIRED with a custom endpoint),
 *   `ANYBATCH_S3_CONDITIONAL_CREATE` (if-none-match / head-check; default head-check on GCS),
 *   `ANYBATCH_S3_PART_MB` (multipart part size in MiB, 5 to 5120; default 8) and `ANYBATCH_S3_PARTS_IN_FLIGHT`
 *   (parts uploaded at once per put, 1 to 16; default 4): a put holds about part size x parts in flight x 2.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from './errors';
import { LocalBlobStore } from './local';
import type { LocalStoreOptions } from './local';
import { S3BlobStore } from './s3';
import type { ChecksumMode, ConditionalCreateMode, S3StoreConfig } from './s3';
import type { BlobStore } from './types';
import { validateKey } from './keys';

export * from './types';
export * from './errors';
export { LocalBlobStore, localRootOf } from './local';
export type { LocalStoreOptions } from './local';
export { S3BlobStore } from './s3';
export type { S3StoreConfig, ChecksumMode, ConditionalCreateMode } from './s3';
export { validateKey, validatePrefix } from './keys';

export type StorageConfig = ({ kind: 'local' } & LocalStoreOptions) | ({ kind: 's3' } & S3StoreConfig);

const VAR = 'ANYBATCH_STORAGE';
const USAGE = 'use a folder path, file:///absolute/path or s3://bucket/prefix';

function badValue(name: string, value: string, why: string): StorageError {
  return new StorageError('storage_config', `${name}=${JSON.stringify(value)}: ${why}.`);
}

/** S3's bucket naming rules, plus `_` that some self-hosted servers allow. */
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

function envBool(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name]?.trim().toLowerCase();
  if (!v) return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw badValue(name, env[name]!, 'expected true or false');
}

function envInt(env: NodeJS.ProcessEnv, name: string, min: number, max: number, unit: string): number | undefined {
  const v = env[name]?.trim();
  if (!v) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw badValue(name, v, `expected a whole number of ${unit} from ${min} to ${max}`);
  return Number(v);
}

function envEnum<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): T | undefined {
  const v = env[name]?.trim();
  if (!v) return undefined;
  const hit = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
  if (!hit) throw badValue(name, v, `expected one of ${allowed.join(', ')}`);
  return hit;
}

/** Parses `ANYBATCH_STORAGE` (and the S3 settings beside it); errors name the variable and the bad value. */
export function storageConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StorageConfig {
  const raw = env[VAR]?.trim() ?? '';
  if (raw === '') return { kind: 'local', root: path.resolve(env.ANYBATCH_HOME || '.anybatch') };
  if (/^s3:/i.test(raw)) return { kind: 's3', ...s3ConfigFromEnv(raw, env) };
  if (/^file:/i.test(raw)) {
    let root: string;
    try {
      root = fileURLToPath(raw);
    } catch (err) {
      throw badValue(VAR, raw, `not a file URL of an absolute path (${(err as Error).message}); ${USAGE}`);
    }
    return { kind: 'local', root };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw badValue(VAR, raw, `unsupported scheme; ${USAGE}`);
  return { kind: 'local', root: path.resolve(raw) };
}

function s3ConfigFromEnv(raw: string, env: NodeJS.ProcessEnv): S3StoreConfig {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(raw);
  if (!m || !m[1]) throw badValue(VAR, raw, `expected s3://bucket or s3://bucket/prefix`);
  const bucket = m[1];
  if (!BUCKET.test(bucket)) throw badValue(VAR, raw, `"${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, ".", "-")`);
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix) {
    try {
      validateKey(prefix);
    } catch (err) {
      throw badValue(VAR, raw, `bad prefix: ${(err as Error).message}`);
    }
  }
  const endpointVar = env.AWS_ENDPOINT_URL_S3 ? 'AWS_ENDPOINT_URL_S3' : env.AWS_ENDPOINT_URL ? 'AWS_ENDPOINT_URL' : undefined;
  const endpoint = endpointVar ? env[endpointVar]!.trim() : undefined;
  if (endpointVar && endpoint) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol)) throw badValue(endpointVar, endpoint, 'expected an http:// or https:// URL');
  }
  const partMiB = envInt(env, 'ANYBATCH_S3_PART_MB', 5, 5120, 'MiB');
  const partsInFlight = envInt(env, 'ANYBATCH_S3_PARTS_IN_FLIGHT', 1, 16, 'parts');
  return {
    bucket,
    prefix,
    endpoint: endpoint || undefined,
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || undefined,
    forcePathStyle: envBool(env, 'ANYBATCH_S3_PATH_STYLE'),
    checksumMode: envEnum<ChecksumMode>(env, 'ANYBATCH_S3_CHECKSUMS', ['WHEN_SUPPORTED', 'WHEN_REQUIRED']),
    conditionalCreate: envEnum<ConditionalCreateMode>(env, 'ANYBATCH_S3_CONDITIONAL_CREATE', ['if-none-match', 'head-check']),
    ...(partMiB !== undefined ? { partSize: partMiB * 1024 * 1024 } : {}),
    ...(partsInFlight !== undefined ? { queueSize: partsInFlight } : {}),
  };
}

/** The store a config (default: from the environment) names. Opening does no I/O; see `checkStore`. */
export function openStore(config: StorageConfig = storageConfigFromEnv()): BlobStore {
  if (config.kind === 'local') return new LocalBlobStore(config);
  if (config.kind === 's3') return new S3BlobStore(config);
  throw new StorageError('storage_config', `Unknown storage kind ${JSON.stringify((config as { kind: unknown }).kind)}.`);
}

export interface CheckStoreOptions {
  /** Also write, read back and delete a small object under `_probe/` (default true). */
  probe?: boolean;
  /** Give up after this long (default 15 s). */
  timeoutMs?: number;
}

/**
 * Verifies that the store is usable, for worker start and `createBatch`: the store's own check (HeadBucket
 * for S3: endpoint reachable, bucket there, credentials accepted), then a probe object written, read back
 * and deleted. Throws a `StorageError` that says what is wrong.
 */
export async function checkStore(store: BlobStore, opts: CheckStoreOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StorageError('storage_unreachable', `The ${store.describe()} did not answer within ${Math.round(timeoutMs / 1000)} s.`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([probe(store, opts.probe ?? true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Creates the store's bucket (or folder) when it is missing, then runs `checkStore`: for `anybatch storage init`
 * and deployments that start from an empty object store. Says whether it created it.
 */
export async function initStore(store: BlobStore, opts: CheckStoreOptions = {}): Promise<'created' | 'exists'> {
  const made = store.ensure ? await store.ensure() : 'exists';
  await checkStore(store, opts);
  return made;
}

async function probe(store: BlobStore, write: boolean): Promise<void> {
  await store.check?.();
  if (!write) return;
  const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_') || 'host';
  const key = `_probe/${host}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const body = `anybatch storage probe ${new Date().toISOString()}\n`;
  await store.put(key, body, { contentType: 'text/plain' });
  try {
    const chunks: Buffer[] = [];
    for await (const c of await store.get(key)) chunks.push(Buffer.from(c as Buffer));
    const got = Buffer.concat(chunks).toString();
    if (got !== body) {
      throw new StorageError('storage_error', `The ${store.describe()} returned different bytes for the probe object ${store.uri(key)} (${got.length} bytes instead of ${body.length}).`);
    }
  } finally {
    await store.delete(key);
  }
}
