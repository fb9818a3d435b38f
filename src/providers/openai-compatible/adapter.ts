/**
 * The `openai-compatible` adapter: servers with OpenAI's online endpoints but no batch API. `createBatch` starts
 * (or finds: the workflow id is the part's idempotency key) an online batch workflow on the worker's task queue,
 * through the activity's Temporal client; its id is the provider batch id. `retrieveBatch` asks it (a query) and
 * adds the live counts its requests' activity heartbeats; `cancelBatch` is a signal; `readResults` streams the
 * chunks it flushed to the part's work folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Batch } from '../../batch';
import { CHUNK_DIR, chunkSeqOfName, type ChunkLine } from '../../online/checkpoint';
import { ONLINE_WORKFLOW_TYPE, onlineBatchQuery, onlineCancelSignal, onlineWorkflowId, type OnlineBatchInput, type OnlineProgress } from '../../online/messages';
import { readJsonLines } from '../../results/jsonl';
import type { ProviderCapabilities } from '../catalog';
import { ProviderError } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, ResultLine } from '../types';
import { onlineTarget } from './http';

export class OnlineAdapter implements ProviderAdapter {
  constructor(readonly capabilities: ProviderCapabilities) {}

  private client(): Client {
    return Context.current().client;
  }

  /** Nothing to upload (the input is in the batch's store already); the base URL and key are checked here, first. */
  async prepareInput(conn: ProviderConnection, _input: ProviderInput): Promise<PreparedInput> {
    onlineTarget(conn);
    return { kind: 'online' };
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    onlineTarget(conn);
    const origin = request.input.origin;
    if (!origin) throw new ProviderError('invalid_request', 'openai-compatible batches are run by the worker: the part to run was not given.');
    const workflowId = onlineWorkflowId(request.input.idempotencyKey);
    const input: OnlineBatchInput = { spec: origin.spec, part: origin.part, createdAt: Math.floor(Date.now() / 1000), metadata: request.metadata };
    try {
      await this.client().workflow.start(ONLINE_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: Context.current().info.taskQueue,
        args: [input],
        // A retried create finds the one an earlier attempt started, running or ended.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return this.retrieveBatch(conn, workflowId);
  }

  async retrieveBatch(_conn: ProviderConnection, id: string): Promise<Batch> {
    const handle = this.client().workflow.getHandle(id);
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
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    await this.client().workflow.getHandle(id).signal(onlineCancelSignal);
    return this.retrieveBatch(conn, id);
  }

  /** The flushed chunks, in order (the part's work folder holds them: the store's own, or restored from it). */
  async *readResults(_conn: ProviderConnection, _batch: Batch, input: ProviderInput): AsyncIterable<ResultLine> {
    const dir = path.join(input.workDir, ...CHUNK_DIR.split('/').filter(Boolean));
    let names: string[];
    try {
      names = await fs.promises.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const chunks = names.map((name) => ({ name, seq: chunkSeqOfName(name) })).filter((c): c is { name: string; seq: number } => c.seq !== null);
    chunks.sort((a, b) => a.seq - b.seq);
    for (const { name } of chunks) {
      const file = path.join(dir, name);
      for await (const chunk of readJsonLines<ChunkLine>(fs.createReadStream(file), { source: file, expectedBytes: null })) yield chunk.line;
    }
  }
}
