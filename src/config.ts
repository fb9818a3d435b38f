/**
 * Configuration from the environment, in the ecosystem's conventions:
 * TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (and the rest of Temporal's env config), ANYBATCH_TASK_QUEUE,
 * ANYBATCH_HOME (staged inputs and results), OPENAI_API_KEY / OPENAI_BASE_URL (read by the provider SDK).
 */
import path from 'node:path';
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
