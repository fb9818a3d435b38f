/**
 * The activities of the online batch workflow (src/workflows/online.ts): send a part's requests to an
 * OpenAI-compatible online endpoint (src/online/runner.ts does the scheduling) and flush their results to the
 * batch's store as numbered chunks under the part's work prefix (src/online/checkpoint.ts). The chunks are the
 * checkpoint: a resumed attempt (after a crash, a SIGKILL, a worker shutdown) reads them and sends only the
 * requests without a result. Progress goes out in heartbeats (`activityOnlineHost`, below, reads them for live
 * counts); a cancel of the workflow reaches the activity with a heartbeat and stops the sending at once.
 */
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type { Batch } from '../contract/batch';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHUNK_DIR, DoneSet, chunkKey, chunkSeq, encodeChunkLine, isSuccessLine, type ChunkLine, type OnlineCounts } from '../online/checkpoint';
import type { OnlineBatchStart, OnlineHost } from '../online/host';
import type { OnlineActivities, OnlineBatchInput, OnlineProgress, OnlineRunResult } from '../online/messages';
import { ONLINE_WORKFLOW_TYPE, onlineBatchQuery, onlineCancelSignal, onlineWorkflowId } from '../online/messages';
import { runRequests, type OnlineRequest } from '../online/runner';
import { endpointUrl, onlineTarget, sendRequest } from '../providers/openai-compatible/http';
import { ONLINE_DEFAULTS, parseOpenAICompatibleOptions } from '../providers/openai-compatible/options';
import { splitLines } from '../results/jsonl';
import { objectChunks } from '../results/blob-writer';
import { bindingOf, unseal, type Credentials } from '../secrets';
import { apiBaseRefusal } from '../providers/allowed-bases';
import type { BlobStore, ByteRange } from '../storage';
import { estimateRequest, tokenCounter } from '../tokens';
import { classifyFailure } from './failures';
import { WorkerFiles, type WorkerFilesOptions } from '../storage/worker-files';

/** Results per chunk object: with `concurrency`, the bound of requests a crash may make us send again. */
export const CHUNK_SIZE = 100;
/** A partial chunk is flushed after this long. */
const FLUSH_MS = 1_000;
const HEARTBEAT_MS = 1_000;

interface Checkpoint {
  done: DoneSet;
  counts: OnlineCounts;
  /** The next chunk's sequence number. */
  next: number;
}

/** Reads every flushed chunk of the part: which requests are done, how they ended, and the next chunk's number. */
async function readCheckpoint(store: BlobStore, workPrefix: string, total: number): Promise<Checkpoint> {
  const done = new DoneSet(total);
  const counts: OnlineCounts = { total, completed: 0, failed: 0 };
  let next = 0;
  const keys: { key: string; seq: number }[] = [];
  for await (const entry of store.list(workPrefix + CHUNK_DIR)) {
    const seq = chunkSeq(workPrefix, entry.key);
    if (seq !== null) keys.push({ key: entry.key, seq });
  }
  for (const { key, seq } of keys) {
    next = Math.max(next, seq + 1);
    for await (const raw of splitLines(objectChunks(store, key))) {
      if (raw.length === 0) continue;
      const { index, line } = JSON.parse(raw.toString('utf8')) as ChunkLine;
      if (!done.add(index)) continue;
      if (isSuccessLine(line)) counts.completed += 1;
      else counts.failed += 1;
    }
  }
  return { done, counts, next };
}

/**
 * The tokens a request counts for against a TPM limit: its input (the model's tokenizer where one is known, else
 * characters / 3.5: src/tokens) plus its output cap, as OpenAI-style servers count rate-limit tokens.
 */
function requestTokens(body: Record<string, unknown>, endpoint: string): number {
  const estimate = estimateRequest(body, endpoint, tokenCounter('openai-compatible', typeof body.model === 'string' ? body.model : ''));
  return Math.max(1, estimate.input + estimate.maxOutput);
}

/** The part's requests without a result yet, in input order, read from the store as a stream. */
async function* pendingRequests(store: BlobStore, key: string, range: ByteRange | undefined, endpoint: string, done: DoneSet): AsyncGenerator<OnlineRequest> {
  let index = 0;
  for await (const raw of splitLines(objectChunks(store, key, range))) {
    if (raw.length === 0) continue;
    const at = index++;
    if (done.has(at)) continue;
    const line = JSON.parse(raw.toString('utf8')) as { custom_id: string; body: Record<string, unknown> };
    yield { index: at, customId: line.custom_id, body: line.body, tokens: requestTokens(line.body, endpoint) };
  }
}

/**
 * The batch's own credentials (opened only for the batch they were sealed for); a batch without a key of its own
 * is refused here, before anything is read or sent, unless its base URL may get the worker's key
 * (src/providers/allowed-bases.ts).
 */
function credentialsOf(input: OnlineBatchInput): Credentials | undefined {
  const { spec } = input;
  const creds = spec.connection.sealed ? unseal(spec.connection.sealed, bindingOf(spec)) : undefined;
  const refusal = apiBaseRefusal(spec.provider, spec.connection.apiBase, typeof creds?.apiKey === 'string' && creds.apiKey !== '');
  if (refusal) throw ApplicationFailure.create({ type: 'api_base_not_allowed', nonRetryable: true, message: refusal });
  return creds;
}

export function createOnlineActivities(opts: WorkerFilesOptions = {}): OnlineActivities {
  const storage = new WorkerFiles(opts);

  /** The batch's store and the part's keys (online batches exist only for batches staged in a store). */
  const placeOf = (input: OnlineBatchInput): { store: BlobStore; workPrefix: string; inputKey: string; range: ByteRange | undefined } => {
    const staged = storage.forBatch(input.spec);
    const { store, keys } = staged.objects(() =>
      ApplicationFailure.nonRetryable(`batch ${input.spec.batchId} has no blob store staging, which online batches need`, 'online_unsupported'),
    );
    const inputKey = staged.partKey(input.part);
    // A part planned as a byte range of the staged input is that range alone.
    return { store, workPrefix: keys.work(input.part.index), inputKey, range: staged.partRange(input.part) ?? undefined };
  };

  return {
    async runOnlineRequests(input: OnlineBatchInput): Promise<OnlineRunResult> {
      const ctx = Context.current();
      let creds: Credentials | undefined;
      // Alive from the start (reading the checkpoint of a long part on S3 takes a while), with the last attempt's progress.
      let progress = (): OnlineProgress | undefined => ctx.info.heartbeatDetails as OnlineProgress | undefined;
      const beat = setInterval(() => ctx.heartbeat(progress()), HEARTBEAT_MS);
      ctx.heartbeat(progress());
      try {
        creds = credentialsOf(input);
        const { store, workPrefix, inputKey, range } = placeOf(input);
        const options = { ...ONLINE_DEFAULTS, ...parseOpenAICompatibleOptions(input.spec.providerOptions) };
        const target = onlineTarget({ apiKey: creds?.apiKey, clientArgs: creds?.clientArgs, apiBase: input.spec.connection.apiBase ?? undefined });
        const checkpoint = await readCheckpoint(store, workPrefix, input.part.requestCount);
        const counts = { ...checkpoint.counts };
        let next = checkpoint.next;
        progress = () => ({ ...counts, chunks: next });
        ctx.heartbeat(progress());
        const send = { target, url: endpointUrl(target.baseURL, input.spec.endpoint), batchId: onlineWorkflowId(`${input.spec.batchId}/${input.part.index}`), timeoutMs: options.requestTimeoutMs };
        const stats = await runRequests(
          pendingRequests(store, inputKey, range, input.spec.endpoint, checkpoint.done),
          { rpm: options.rpm, tpm: options.tpm, concurrency: options.concurrency, maxRetries: options.maxRetries, chunkSize: CHUNK_SIZE, flushMs: FLUSH_MS },
          {
            send: (request) => sendRequest(send, request),
            async flush(lines) {
              // Written once: a second attempt racing this one fails here and starts over from the chunks.
              await store.put(chunkKey(workPrefix, next), Buffer.from(lines.map((l) => encodeChunkLine(l.index, l.line)).join('')), { ifNoneMatch: true, contentType: 'application/jsonl' });
              next += 1;
              for (const { line } of lines) {
                if (isSuccessLine(line)) counts.completed += 1;
                else counts.failed += 1;
              }
              ctx.heartbeat(progress());
            },
            now: () => Date.now(),
            sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
          },
          ctx.cancellationSignal,
        );
        // Cancelled for another reason than a cancel of the batch (worker shutdown, timeout): resumed later.
        if (stats.cancelled && !ctx.cancellationDetails?.cancelRequested) throw ctx.cancellationSignal.reason ?? new Error('the activity was stopped');
        return { ...counts, cancelled: stats.cancelled };
      } catch (err) {
        throw classifyFailure(err, creds, input.spec.storage?.uri);
      } finally {
        clearInterval(beat);
      }
    },

    async countOnlineResults(input: OnlineBatchInput): Promise<OnlineCounts> {
      try {
        const { store, workPrefix } = placeOf(input);
        return (await readCheckpoint(store, workPrefix, input.part.requestCount)).counts;
      } catch (err) {
        throw classifyFailure(err);
      }
    },
  };
}

/**
 * The online batch host the batch activities give the `openai-compatible` adapter (src/online/host.ts): the online
 * batch is a workflow on the running activity's task queue, started, queried and signalled through the activity's
 * Temporal client. Call it only from within an activity (a local one too).
 */
export const activityOnlineHost: OnlineHost = {
  async start(batch: OnlineBatchStart): Promise<string> {
    const ctx = Context.current();
    const workflowId = onlineWorkflowId(batch.idempotencyKey);
    const input: OnlineBatchInput = { spec: batch.spec, part: batch.part, createdAt: batch.createdAt, metadata: batch.metadata };
    try {
      await ctx.client.workflow.start(ONLINE_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: ctx.info.taskQueue,
        args: [input],
        // A retried create finds the one an earlier attempt started, running or ended.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return workflowId;
  },

  async read(id: string): Promise<Batch> {
    const handle = Context.current().client.workflow.getHandle(id);
    const batch = await handle.query(onlineBatchQuery);
    if (batch.status !== 'in_progress' && batch.status !== 'cancelling') return batch;
    // Live counts: the requests' activity heartbeats its progress (never in history, so history stays small).
    const { raw } = await handle.describe();
    for (const activity of raw.pendingActivities ?? []) {
      const payload = activity.heartbeatDetails?.payloads?.[0];
      if (!payload) continue;
      const progress = defaultPayloadConverter.fromPayload<OnlineProgress>(payload);
      if (progress && typeof progress.completed === 'number') {
        return { ...batch, request_counts: { total: progress.total, completed: progress.completed, failed: progress.failed } };
      }
    }
    return batch;
  },

  async cancel(id: string): Promise<void> {
    await Context.current().client.workflow.getHandle(id).signal(onlineCancelSignal);
  },
};
