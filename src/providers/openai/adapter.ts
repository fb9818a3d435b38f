/**
 * OpenAI's Files and Batches APIs through the official `openai` SDK. Also serves OpenAI-compatible
 * providers and the sandbox: they differ only in base URL and catalog entry.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import OpenAI from 'openai';
import type { Batch } from '../../batch';
import type { ProviderCapabilities } from '../catalog';
import { ProviderError } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, ResultLine } from '../types';
import { call, OPENAI_PROVIDER } from './errors';
import { SdkClients } from '../sdk-clients';
import { readJsonLines } from '../../results/jsonl';

/** Metadata key that ties a provider batch to its anybatch batch and part (the idempotency key). */
export const KEY_METADATA = 'anybatch_key';
const PAGE = 100;

export class OpenAIAdapter implements ProviderAdapter {
  private readonly clients = new SdkClients(OPENAI_PROVIDER, (options) => new OpenAI(options));

  constructor(readonly capabilities: ProviderCapabilities) {}

  private client(conn: ProviderConnection): OpenAI {
    return this.clients.get(conn);
  }

  async prepareInput(conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput> {
    const client = this.client(conn);
    // The staged file's name is unique to the batch and part, so an earlier upload can be found by name.
    const filename = path.basename(input.path);
    const existing = await call('list files', async () => {
      for await (const file of client.files.list({ purpose: 'batch', order: 'desc', limit: PAGE })) {
        if (file.created_at < input.notBefore) return null;
        if (file.filename === filename && file.bytes === input.bytes && file.status !== 'error') return file;
      }
      return null;
    });
    if (existing) return { fileId: existing.id };
    // A file-backed Blob is read lazily while the body is sent, so the upload never sits in memory.
    const file = await call('upload input', async () =>
      client.files.create({ file: new File([await fs.openAsBlob(input.path)], filename, { type: 'application/jsonl' }), purpose: 'batch' }),
    );
    return { fileId: file.id };
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    const client = this.client(conn);
    const key = request.input.idempotencyKey;
    const earlier = await call('list batches', async () => {
      for await (const batch of client.batches.list({ limit: PAGE })) {
        if (batch.created_at < request.input.notBefore) return null;
        if (batch.metadata?.[KEY_METADATA] === key) return batch;
      }
      return null;
    });
    if (earlier) return earlier;
    if (!request.prepared.fileId) throw new ProviderError('invalid_request', 'OpenAI batches need an uploaded input file.');
    return call('create batch', () =>
      client.batches.create({
        input_file_id: request.prepared.fileId!,
        endpoint: request.endpoint as OpenAI.Batches.BatchCreateParams['endpoint'],
        completion_window: request.completionWindow as '24h',
        metadata: { ...request.metadata, [KEY_METADATA]: key },
      }),
    );
  }

  retrieveBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    return call('retrieve batch', () => this.client(conn).batches.retrieve(id));
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    try {
      return await call('cancel batch', () => this.client(conn).batches.cancel(id));
    } catch (err) {
      // A batch that ended meanwhile cannot be cancelled; its current state is the answer.
      if (err instanceof ProviderError && err.kind === 'invalid_request') return this.retrieveBatch(conn, id);
      throw err;
    }
  }

  async *readResults(conn: ProviderConnection, batch: Batch, _input: ProviderInput): AsyncIterable<ResultLine> {
    const client = this.client(conn);
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const response = await call('download results', () => client.files.content(fileId));
      if (!response.body) continue;
      const expected = Number(response.headers.get('content-length') ?? NaN);
      const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
      try {
        yield* readJsonLines<ResultLine>(body, { source: `file ${fileId}`, expectedBytes: Number.isFinite(expected) ? expected : null });
      } catch (err) {
        // A cut-off download is a transient fault: the activity retries and writes nothing short.
        throw err instanceof ProviderError ? err : new ProviderError('transient', `download of ${fileId} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
