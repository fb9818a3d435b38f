/**
 * Configuration from the environment, in the ecosystem's conventions:
 * TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (and the rest of Temporal's env config), ANYBATCH_TASK_QUEUE,
 * ANYBATCH_HOME (staged inputs and results), ANYBATCH_STORAGE and the AWS_* variables (the blob store, see
 * src/storage/index.ts), OPENAI_API_KEY / OPENAI_BASE_URL (read by the provider SDK).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { openStore, storageConfigFromEnv } from './storage';
import type { BlobStore } from './storage';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { ConnectionOptions } from '@temporalio/client';

export const DEFAULT_TASK_QUEUE = 'anybatch';
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

export function anybatchHome(): string {
  return path.resolve(process.env.ANYBATCH_HOME || '.anybatch');
}

export function taskQueue(): string {
  return process.env.ANYBATCH_TASK_QUEUE || DEFAULT_TASK_QUEUE;
}

export interface TemporalSettings {
  connection: ConnectionOptions;
  namespace: string;
}

/** Temporal connection settings: explicit values first, then Temporal's own env config, then the local default. */
export function temporalSettings(overrides: { address?: string; namespace?: string } = {}): TemporalSettings {
  const loaded = loadClientConnectConfig();
  const connection: ConnectionOptions = { ...loaded.connectionOptions };
  connection.address = overrides.address ?? process.env.TEMPORAL_ADDRESS ?? connection.address ?? DEFAULT_TEMPORAL_ADDRESS;
  return { connection, namespace: overrides.namespace ?? loaded.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default' };
}

/** The variables beyond ANYBATCH_STORAGE's own that change which store (or which credentials) a client gets. */
const STORE_ENV = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;

const stores = new Map<string, BlobStore>();

/**
 * The blob store of this process, from the environment (`storageConfigFromEnv`: ANYBATCH_STORAGE unset is the
 * local folder ANYBATCH_HOME), opened once per configuration and kept. A malformed ANYBATCH_STORAGE (or S3
 * setting) throws a `StorageError` naming the variable. Opening does no I/O (see `checkStore`).
 */
export function clientStore(env: NodeJS.ProcessEnv = process.env): BlobStore {
  const config = storageConfigFromEnv(env);
  // Hashed: the map key never holds a credential in the clear.
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify([config, STORE_ENV.map((name) => env[name] ?? null)]))
    .digest('hex');
  let store = stores.get(key);
  if (!store) {
    store = openStore(config);
    stores.set(key, store);
  }
  return store;
}

/** Closes the sockets of the stores `clientStore` opened (S3) and forgets them. */
export function closeClientStores(): void {
  for (const store of stores.values()) (store as { destroy?: () => void }).destroy?.();
  stores.clear();
}
