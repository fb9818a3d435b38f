/**
 * OpenAI's Files and Batches APIs through the official `openai` SDK. OpenAI-compatible providers (Groq, Azure
 * OpenAI, the sandbox) are configurations of this adapter: their client, names and listing order (see
 * `./compatible.ts`).
 *
 * A lost answer (the provider made the upload or the batch, the worker saw an error, a timeout or died) is recovered
 * without adopting anything that is not this part's of this run (src/providers/run-nonce.ts):
 * - the upload is named after the staged file and the part's run nonce (`<batch>.part-<i>.<nonce>.jsonl`); a retry
 *   reuses only an upload of exactly that name and size, so never an earlier run's of the same batch id, nor another
 *   deployment's, however alike their sizes;
 * - the batch carries the idempotency key in its metadata (`anybatch_key`); a retry adopts a batch only if it has the
 *   key AND reads this run's upload (`input_file_id`), which no other part or run can. Creates are sent with no SDK
 *   retry whatever `clientArgs.maxRetries` says: a create the SDK re-sent after a lost answer would be a second batch.
 */
import { Readable } from 'node:stream';
import type OpenAI from 'openai';
import type { Batch } from '../../contract/batch';
import type { ProviderCapabilities } from '../capabilities';
import type { ProviderInfo } from '../http-errors';
import { preparedFile, requirePreparedFile, ProviderError } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, ResultLine } from '../types';
import { openAICalls } from './errors';
import { SdkClients, type SdkClientOptions } from '../sdk-clients';
import { MalformedLine, readJsonLines } from '../../results/jsonl';
import { runFileName, runNonce } from '../run-nonce';
import { malformedResultLine, maxResultLineBytes } from '../../results/malformed';
import { partFileName, partUpload } from '../part-input';

/** Metadata key that ties a provider batch to its anybatch batch and part (the idempotency key). */
export const KEY_METADATA = 'anybatch_key';
const PAGE = 100;
/** Where the listing order is not known to be newest first, a search for an earlier upload or batch looks this far. */
const MAX_UNORDERED_SCAN = 10_000;

export interface OpenAIAdapterConfig {
  capabilities: ProviderCapabilities;
  /** Names for messages and the client cache: label, key and base URL variables, default base URL. */
  info: ProviderInfo;
  /** Builds the SDK client (an `OpenAI`, or a subclass such as `AzureOpenAI`). */
  client(options: SdkClientOptions, conn: ProviderConnection): OpenAI;
  /**
   * The provider lists files and batches newest first (OpenAI does), so a search for an earlier upload or batch
   * stops at the first one older than the batch. Otherwise the search skips older ones and goes on.
   */
  listsNewestFirst: boolean;
  /** The `endpoint` a create sends for the batch's endpoint (Azure's `/chat/completions`); default: the same. */
  createEndpoint?(endpoint: string): string;
  /** `delete`: a batch is cancelled with `DELETE /batches/{id}` (Cerebras); default `post`, OpenAI's `POST /batches/{id}/cancel`. */
  cancel?: 'post' | 'delete';
  /** The provider's statuses beyond OpenAI's and what each reads as (Cerebras's `queued`: in_progress). */
  statusMap?: Readonly<Record<string, Batch['status']>>;
}

export class OpenAIAdapter implements ProviderAdapter {
  readonly capabilities: ProviderCapabilities;
  private readonly clients: SdkClients<OpenAI>;
  private readonly call: ReturnType<typeof openAICalls>['call'];

  constructor(private readonly config: OpenAIAdapterConfig) {
    this.capabilities = config.capabilities;
    this.clients = new SdkClients(config.info, (options, conn) => config.client(options, conn));
    this.call = openAICalls(config.info).call;
  }

  private client(conn: ProviderConnection): OpenAI {
    return this.clients.get(conn);
  }

  async prepareInput(conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput> {
    const client = this.client(conn);
    // The staged file's name is unique to the batch and part, the nonce to this run: an earlier upload of this part of
    // this run is found by name, and nothing else is.
    const filename = runFileName(partFileName(input), await runNonce(input));
    const existing = await this.call('list files', () =>
      this.findSince(client.files.list({ purpose: 'batch', order: 'desc', limit: PAGE }), input.notBefore, (file) => file.filename === filename && file.bytes === input.bytes && file.status !== 'error'),
    );
    if (existing) return preparedFile(existing.id);
    // Read lazily while the body is sent (from the file, or streamed from a remote store), never held in memory.
    const file = await this.call('upload input', async () =>
      client.files.create({ file: await partUpload(input, filename), purpose: 'batch' }),
    );
    return preparedFile(file.id);
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    const client = this.client(conn);
    const key = request.input.idempotencyKey;
    const inputFileId = requirePreparedFile(request.prepared, this.config.info.label);
    // This part's key on this run's upload: only a batch an earlier attempt of this very step made.
    const earlier = await this.call('list batches', () =>
      this.findSince(client.batches.list({ limit: PAGE }), request.input.notBefore, (batch) => batch.metadata?.[KEY_METADATA] === key && batch.input_file_id === inputFileId),
    );
    if (earlier) return this.ownStatus(earlier);
    const endpoint = this.config.createEndpoint?.(request.endpoint) ?? request.endpoint;
    const created = await this.call('create batch', () =>
      client.batches.create(
        {
          input_file_id: inputFileId,
          endpoint: endpoint as OpenAI.Batches.BatchCreateParams['endpoint'],
          completion_window: request.completionWindow as '24h',
          metadata: { ...request.metadata, [KEY_METADATA]: key },
        },
        { maxRetries: 0 },
      ),
    );
    return this.ownStatus(created);
  }

  async retrieveBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    return this.ownStatus(await this.call('retrieve batch', () => this.client(conn).batches.retrieve(id)));
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const client = this.client(conn);
    try {
      // Cerebras: `DELETE /batches/{id}` answers with the batch, now cancelling.
      const cancel = () => (this.config.cancel === 'delete' ? client.delete<Batch>(`/batches/${encodeURIComponent(id)}`) : client.batches.cancel(id));
      return this.ownStatus(await this.call('cancel batch', cancel));
    } catch (err) {
      // A batch that ended meanwhile cannot be cancelled; its current state is the answer.
      if (err instanceof ProviderError && err.kind === 'invalid_request') return this.retrieveBatch(conn, id);
      throw err;
    }
  }

  /** A batch whose status is one of the provider's own (`statusMap`) with the OpenAI status it reads as. */
  private ownStatus(batch: Batch): Batch {
    const map = this.config.statusMap;
    const status = batch.status as string;
    if (!map || !Object.prototype.hasOwnProperty.call(map, status)) return batch;
    return { ...batch, status: map[status] };
  }

  /** The first item created at or after `notBefore` that matches, searching as the provider's listing order allows. */
  private async findSince<T extends { created_at: number }>(items: AsyncIterable<T>, notBefore: number, matches: (item: T) => boolean): Promise<T | null> {
    let scanned = 0;
    for await (const item of items) {
      if (item.created_at < notBefore) {
        if (this.config.listsNewestFirst) return null;
      } else if (matches(item)) {
        return item;
      }
      if (!this.config.listsNewestFirst && ++scanned >= MAX_UNORDERED_SCAN) return null;
    }
    return null;
  }

  async *readResults(conn: ProviderConnection, batch: Batch, _input: ProviderInput): AsyncIterable<ResultLine> {
    const client = this.client(conn);
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const response = await this.call('download results', () => client.files.content(fileId));
      if (!response.body) continue;
      const expected = Number(response.headers.get('content-length') ?? NaN);
      const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
      const maxLineBytes = maxResultLineBytes(this.capabilities);
      try {
        const lines = readJsonLines<ResultLine>(body, { source: `file ${fileId}`, expectedBytes: Number.isFinite(expected) ? expected : null, maxLineBytes, malformed: 'report' });
        for await (const line of lines) {
          // An unreadable line costs its own request only (with no custom_id to be found, the writer accounts for it).
          const out = line instanceof MalformedLine ? malformedResultLine(line, { provider: this.config.info.label, maxLineBytes }) : line;
          if (out) yield out;
        }
      } catch (err) {
        // A cut-off download is a transient fault: the activity retries and writes nothing short.
        throw err instanceof ProviderError ? err : new ProviderError('transient', `download of ${fileId} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
