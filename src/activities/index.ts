/**
 * Activity implementations: every side effect of a batch workflow. Provider details stay behind the
 * adapter; failures are classified here (src/activities/failures.ts) so the workflow retries what is
 * transient, within the batch's retry bound, and fails fast on the rest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import type { Batch, BatchResultFiles } from '../batch';
import { getAdapter } from '../providers';
import type { ProviderConnection, ProviderInput, ResultLine } from '../providers/types';
import { splitInput } from '../results/split';
import { idsOfInput, idsOfList, mergeResults, missingOutcome, writePartResults } from '../results/writer';
import { unseal } from '../secrets';
import type { Credentials } from '../secrets';
import { requestIdsPath } from '../validation';
import type { BatchSpec, PartPlan, PartResults } from '../workflows/shared';
import { RESULTS_RETRY_TIMEOUT_MS, boundedStep, classifyFailure, submitRetryTimeoutMs } from './failures';
import type { BatchActivities } from './types';

/** Provider searches for an earlier upload/batch look this far before the batch's creation (clock skew). */
const KEY_SEARCH_SLACK_SECONDS = 3600;
const HEARTBEAT_MS = 5_000;

function credentials(spec: BatchSpec): Credentials | undefined {
  return spec.connection.sealed ? unseal(spec.connection.sealed) : undefined;
}

function connection(spec: BatchSpec, creds: Credentials | undefined): ProviderConnection {
  return { apiKey: creds?.apiKey, clientArgs: creds?.clientArgs, apiBase: spec.connection.apiBase ?? undefined, options: spec.providerOptions };
}

/** Keeps a long call visibly alive, so a dead worker is noticed fast (local activities cannot heartbeat). */
async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  if (ctx.info.isLocal) return fn();
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}

/** Runs a provider call with heartbeats; a failure is classified with the secrets redacted from its message. */
async function providerCall<T>(spec: BatchSpec, fn: (conn: ProviderConnection) => Promise<T>, place?: string): Promise<T> {
  let creds: Credentials | undefined;
  try {
    creds = credentials(spec);
    return await heartbeating(() => fn(connection(spec, creds)));
  } catch (err) {
    throw classifyFailure(err, creds, place);
  }
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

/** Fails with the file's own error (ENOENT, EISDIR, EACCES, ...) before a read of it is streamed somewhere. */
async function checkReadable(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.read(Buffer.alloc(1), 0, 1, 0);
  } finally {
    await handle.close();
  }
}

/**
 * The part's custom_ids: from its input file, or, when that is gone, from the ids recorded at validation (so a
 * batch whose staged data was lost still accounts for every request). Null when neither can be read.
 */
function partIds(spec: BatchSpec, part: PartPlan): AsyncIterable<string> | null {
  if (readableFile(part.path)) return idsOfInput(part.path);
  const list = requestIdsPath(spec.input.path);
  const first = part.firstRequest ?? (part.requestCount === spec.input.requestCount ? 0 : undefined);
  if (first !== undefined && readableFile(list)) return idsOfList(list, first, part.requestCount);
  return null;
}

function readableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

async function* noIds(): AsyncGenerator<string> {}

export function createActivities(): BatchActivities {
  return {
    async planParts(spec: BatchSpec): Promise<PartPlan[]> {
      return boundedStep(spec, 'plan', submitRetryTimeoutMs(spec), async () => {
        await checkReadable(spec.input.path);
        const adapter = getAdapter(spec.provider);
        const { maxRequestsPerBatch, maxBytesPerBatch } = adapter.capabilities;
        const sentBytes = adapter.sentBytes?.bind(adapter);
        const parts = await heartbeating(() =>
          splitInput(spec.input.path, {
            maxRequests: Math.min(maxRequestsPerBatch, spec.maxRequestsPerPart ?? Infinity),
            maxBytes: Math.min(maxBytesPerBatch, spec.maxBytesPerPart ?? Infinity),
            sentBytes: sentBytes && ((line) => sentBytes(line, spec.endpoint, spec.providerOptions)),
            requestCount: spec.input.requestCount,
          }),
        );
        let first = 0;
        return parts.map((p) => {
          const plan = { ...p, firstRequest: first };
          first += p.requestCount;
          return plan;
        });
      }, spec.input.path);
    },

    async uploadPart(spec: BatchSpec, part: PartPlan): Promise<{ fileId: string | null }> {
      return boundedStep(spec, 'upload', submitRetryTimeoutMs(spec), async () => {
        await checkReadable(part.path);
        return providerCall(spec, (conn) => getAdapter(spec.provider).prepareInput(conn, providerInput(spec, part)), part.path);
      }, part.path);
    },

    async createPartBatch(spec: BatchSpec, part: PartPlan, fileId: string | null): Promise<Batch> {
      return boundedStep(spec, 'create', submitRetryTimeoutMs(spec), () =>
        providerCall(spec, (conn) =>
          getAdapter(spec.provider).createBatch(conn, {
            input: providerInput(spec, part),
            prepared: { fileId },
            endpoint: spec.endpoint,
            completionWindow: spec.completionWindow,
            metadata: spec.metadata,
          }),
        ),
      );
    },

    async retrieveProviderBatch(spec: BatchSpec, providerBatchId: string): Promise<Batch> {
      // A local activity: the workflow counts failed polls and bounds them.
      return boundedStep(spec, 'poll', Infinity, () => providerCall(spec, (conn) => getAdapter(spec.provider).retrieveBatch(conn, providerBatchId)));
    },

    async cancelProviderBatch(spec: BatchSpec, providerBatchId: string): Promise<Batch> {
      return boundedStep(spec, 'cancel', submitRetryTimeoutMs(spec), () =>
        providerCall(spec, (conn) => getAdapter(spec.provider).cancelBatch(conn, providerBatchId)),
      );
    },

    async downloadPartResults(spec, part, batch, outcome): Promise<PartResults> {
      return boundedStep(spec, 'download', RESULTS_RETRY_TIMEOUT_MS, async () => {
        const fromProvider = outcome === null && batch !== null;
        const ids = partIds(spec, part);
        const write = (lines: AsyncIterable<ResultLine> | null) =>
          writePartResults({
            batchId: spec.batchId,
            resultsDir: spec.resultsDir,
            part,
            ids: ids ?? noIds(),
            lines,
            outcome: outcome ?? missingOutcome(batch!),
            warn: (message) => log.warn(message, { batchId: spec.batchId }),
          });
        if (ids === null) {
          log.error('the staged input and its request ids are both gone: its requests cannot be listed in errors.jsonl', {
            batchId: spec.batchId,
            part: part.index,
            input: part.path,
            ids: requestIdsPath(spec.input.path),
          });
        }
        // With an outcome for every request the provider is not asked, so no credentials are needed.
        if (!fromProvider) return heartbeating(() => write(null));
        return providerCall(spec, (conn) => write(getAdapter(spec.provider).readResults(conn, batch!, providerInput(spec, part))), spec.resultsDir);
      }, spec.resultsDir);
    },

    async mergeResults(spec: BatchSpec, parts: PartResults[]): Promise<BatchResultFiles> {
      return boundedStep(spec, 'merge', RESULTS_RETRY_TIMEOUT_MS, () => heartbeating(() => mergeResults(spec.resultsDir, parts)), spec.resultsDir);
    },

    async requestWorkflowCancellation(batchId: string): Promise<void> {
      await Context.current().client.workflow.getHandle(batchId).cancel();
    },
  };
}
