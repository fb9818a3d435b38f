/**
 * Activity implementations: every side effect of a batch workflow. Provider details stay behind the
 * adapter; failures are classified here so the workflow retries what is transient and fails fast on the rest.
 */
import path from 'node:path';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Batch, BatchResultFiles } from '../batch';
import { getAdapter } from '../providers';
import { ProviderError } from '../providers/types';
import type { ProviderConnection, ProviderInput } from '../providers/types';
import { splitInput } from '../results/split';
import { mergeResults, missingOutcome, writePartResults } from '../results/writer';
import { redact, unseal } from '../secrets';
import type { Credentials } from '../secrets';
import type { BatchSpec, PartPlan, PartResults } from '../workflows/shared';
import type { BatchActivities } from './types';

/** Provider searches for an earlier upload/batch look this far before the batch's creation (clock skew). */
const KEY_SEARCH_SLACK_SECONDS = 3600;
const HEARTBEAT_MS = 5_000;

function credentials(spec: BatchSpec): Credentials | undefined {
  if (!spec.connection.sealed) return undefined;
  try {
    return unseal(spec.connection.sealed);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'bad_credentials');
  }
}

function connection(spec: BatchSpec, creds: Credentials | undefined): ProviderConnection {
  return { apiKey: creds?.apiKey, clientArgs: creds?.clientArgs, apiBase: spec.connection.apiBase ?? undefined };
}

/** Runs a provider call with heartbeats, and classifies its failure (never leaking a secret into the message). */
async function providerCall<T>(spec: BatchSpec, fn: (conn: ProviderConnection) => Promise<T>): Promise<T> {
  const creds = credentials(spec);
  const ctx = Context.current();
  // Local activities (status polls) are short and cannot heartbeat.
  const beat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
  try {
    if (!ctx.info.isLocal) ctx.heartbeat();
    return await fn(connection(spec, creds));
  } catch (err) {
    throw toFailure(err, creds);
  } finally {
    clearInterval(beat);
  }
}

/** Keeps a long local computation (splitting, merging) visibly alive, so a dead worker is still noticed fast. */
async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}

function toFailure(err: unknown, creds: Credentials | undefined): unknown {
  if (err instanceof ApplicationFailure) return err;
  const message = redact(err instanceof Error ? err.message : String(err), creds);
  if (err instanceof ProviderError) {
    switch (err.kind) {
      case 'auth':
        return ApplicationFailure.create({ message, type: 'provider_auth', nonRetryable: true });
      case 'invalid_request':
        return ApplicationFailure.create({ message, type: 'provider_invalid_request', nonRetryable: true });
      case 'not_found':
        return ApplicationFailure.create({ message, type: 'provider_not_found', nonRetryable: true });
      case 'rate_limited':
        return ApplicationFailure.create({ message, type: 'provider_rate_limited', nextRetryDelay: err.retryAfterMs ?? undefined });
      case 'transient':
        return ApplicationFailure.create({ message, type: 'provider_transient' });
    }
  }
  if (err instanceof Error && err.message !== message) return new Error(message);
  return err;
}

/** How a part looks to a provider adapter. */
function providerInput(spec: BatchSpec, part: PartPlan): ProviderInput {
  return {
    ...part,
    idempotencyKey: `${spec.batchId}/${part.index}`,
    notBefore: spec.createdAt - KEY_SEARCH_SLACK_SECONDS,
    endpoint: spec.endpoint,
    options: spec.providerOptions,
    workDir: path.join(path.dirname(spec.input.path), `${spec.batchId}.work`, String(part.index)),
  };
}

export function createActivities(): BatchActivities {
  return {
    async planParts(spec: BatchSpec): Promise<PartPlan[]> {
      const adapter = getAdapter(spec.provider);
      const { maxRequestsPerBatch, maxBytesPerBatch } = adapter.capabilities;
      const sentBytes = adapter.sentBytes?.bind(adapter);
      return heartbeating(() =>
        splitInput(spec.input.path, {
          maxRequests: Math.min(maxRequestsPerBatch, spec.maxRequestsPerPart ?? Infinity),
          maxBytes: Math.min(maxBytesPerBatch, spec.maxBytesPerPart ?? Infinity),
          sentBytes: sentBytes && ((line) => sentBytes(line, spec.endpoint, spec.providerOptions)),
          requestCount: spec.input.requestCount,
        }),
      );
    },

    async uploadPart(spec: BatchSpec, part: PartPlan): Promise<{ fileId: string | null }> {
      const adapter = getAdapter(spec.provider);
      return providerCall(spec, (conn) => adapter.prepareInput(conn, providerInput(spec, part)));
    },

    async createPartBatch(spec: BatchSpec, part: PartPlan, fileId: string | null): Promise<Batch> {
      const adapter = getAdapter(spec.provider);
      return providerCall(spec, (conn) =>
        adapter.createBatch(conn, {
          input: providerInput(spec, part),
          prepared: { fileId },
          endpoint: spec.endpoint,
          completionWindow: spec.completionWindow,
          metadata: spec.metadata,
        }),
      );
    },

    async retrieveProviderBatch(spec: BatchSpec, providerBatchId: string): Promise<Batch> {
      return providerCall(spec, (conn) => getAdapter(spec.provider).retrieveBatch(conn, providerBatchId));
    },

    async cancelProviderBatch(spec: BatchSpec, providerBatchId: string): Promise<Batch> {
      return providerCall(spec, (conn) => getAdapter(spec.provider).cancelBatch(conn, providerBatchId));
    },

    async downloadPartResults(spec, part, batch, outcome): Promise<PartResults> {
      const adapter = getAdapter(spec.provider);
      return providerCall(spec, (conn) =>
        writePartResults({
          batchId: spec.batchId,
          resultsDir: spec.resultsDir,
          part,
          lines: outcome === null && batch !== null ? adapter.readResults(conn, batch, providerInput(spec, part)) : null,
          outcome: outcome ?? missingOutcome(batch!),
          warn: (message) => log.warn(message, { batchId: spec.batchId }),
        }),
      );
    },

    async mergeResults(spec: BatchSpec, parts: PartResults[]): Promise<BatchResultFiles> {
      return heartbeating(() => mergeResults(spec.resultsDir, parts));
    },
  };
}
