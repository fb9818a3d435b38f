/**
 * The `openai-compatible` adapter: servers with OpenAI's online endpoints but no batch API. `createBatch` starts
 * (or finds: one per part's idempotency key) an online batch on the worker, through the connection's `online`
 * host (src/online/host.ts; the activities give one that runs it as a workflow on the worker's task queue); its
 * id is the provider batch id. `retrieveBatch` reads it through the host (with the live counts of its running
 * requests), `cancelBatch` cancels it there; `readResults` streams the chunks it flushed to the part's work folder.
 *
 * The host keeps one online batch per key for good (running or ended), so a create whose answer was lost finds its
 * batch again. But the key (`<batch id>/<part>`) is not unique across runs: a batch id used again would find the
 * online batch an earlier run left, ended, its chunks gone. So a create marker (`online-create.json`: the key used
 * and the creation time given to the host, written durably before the first start) tells this run's online batch
 * from another: the batch found must carry the marker's creation time. When it does not (an earlier run's), the part
 * moves to a key of its own, `<key>#<run nonce>` (src/providers/run-nonce.ts), recorded in the marker first.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Batch } from '../../contract/batch';
import { CHUNK_DIR, chunkSeqOfName, type ChunkLine } from '../../online/checkpoint';
import type { OnlineHost } from '../../online/host';
import { MalformedLine, readJsonLines } from '../../results/jsonl';
import { malformedResultLine, maxResultLineBytes } from '../../results/malformed';
import type { ProviderCapabilities } from '../capabilities';
import { readJsonFile, runKey, runNonce, writeDurable } from '../run-nonce';
import { ProviderError } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, ResultLine } from '../types';
import { onlineTarget } from './http';

const MARKER = 'online-create.json';

/** Which online batch is the part's in this run: the key it was started under and the creation time it was given. */
interface OnlineCreateMarker {
  key: string;
  /** Unix seconds, given to the host as the online batch's `created_at`. */
  createdAt: number;
}

export class OnlineAdapter implements ProviderAdapter {
  constructor(readonly capabilities: ProviderCapabilities) {}

  private host(conn: ProviderConnection): OnlineHost {
    if (!conn.online) throw new ProviderError('invalid_request', 'openai-compatible batches are run by the worker: no online batch host was given.');
    return conn.online;
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
    const host = this.host(conn);
    const { input } = request;
    const markerFile = path.join(input.workDir, MARKER);
    let marker = await readJsonFile<OnlineCreateMarker>(markerFile);
    if (marker === null) {
      marker = { key: input.idempotencyKey, createdAt: Math.floor(Date.now() / 1000) };
      await this.record(input, markerFile, marker);
    }
    const start = (key: string, createdAt: number) => host.start({ idempotencyKey: key, spec: origin.spec, part: origin.part, createdAt, metadata: request.metadata });
    let batch = await host.read(await start(marker.key, marker.createdAt));
    if (batch.created_at === marker.createdAt) return batch;
    if (marker.key !== input.idempotencyKey) {
      throw new ProviderError('invalid_request', `online batch ${batch.id} was not started by part ${input.idempotencyKey} of this batch (created at ${batch.created_at}, not ${marker.createdAt}).`);
    }
    // An earlier run of this batch id left its online batch under the plain key: this run's goes under its own.
    marker = { key: runKey(input.idempotencyKey, await runNonce(input)), createdAt: marker.createdAt };
    await this.record(input, markerFile, marker);
    batch = await host.read(await start(marker.key, marker.createdAt));
    if (batch.created_at !== marker.createdAt) {
      throw new ProviderError('invalid_request', `online batch ${batch.id} was not started by part ${input.idempotencyKey} of this batch (created at ${batch.created_at}, not ${marker.createdAt}).`);
    }
    return batch;
  }

  private async record(input: ProviderInput, file: string, marker: OnlineCreateMarker): Promise<void> {
    await writeDurable(file, JSON.stringify(marker));
    await input.persist?.();
  }

  async retrieveBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    return this.host(conn).read(id);
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const host = this.host(conn);
    await host.cancel(id);
    return host.read(id);
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
    const maxLineBytes = maxResultLineBytes(this.capabilities);
    for (const { name } of chunks) {
      const file = path.join(dir, name);
      const lines = readJsonLines<ChunkLine>(fs.createReadStream(file), { source: file, expectedBytes: null, maxLineBytes, malformed: 'report' });
      for await (const chunk of lines) {
        // A damaged chunk line costs its own request only (with no custom_id to be found, the writer accounts for it).
        const out = chunk instanceof MalformedLine ? malformedResultLine(chunk, { provider: this.capabilities.name, maxLineBytes }) : chunk.line;
        if (out) yield out;
      }
    }
  }
}
