/**
 * xAI's batch API (docs/provider-apis-2.md section 8) through the `openai` package's client: `files.create` for
 * the upload, its generic `get`/`post` for xAI's own batch endpoints. xAI has no official TypeScript SDK.
 *
 * - Upload: `POST /v1/files` (multipart `file`; `purpose: 'batch'` is sent as OpenAI's SDK does: section 8 leaves
 *   open whether xAI needs it). The file is uploaded again on a retry (xAI documents no file listing to search;
 *   a second upload is harmless, a second batch is not).
 * - Create: `POST /v1/batches {name, input_file_id}`, the idempotency key and the part's run nonce in `name`
 *   (`anybatch:<batch id>/<part>#<nonce>`, src/providers/run-nonce.ts: made durable before the create is sent);
 *   before creating, `GET /v1/batches?limit&pagination_token` is searched for a batch of that name, so a create
 *   whose answer was lost is found again, and nothing else is: not another part's, not an earlier run's of the same
 *   batch id, not another deployment's (xAI batches show no input file to check instead). Creates are spaced one
 *   second apart per client (xAI allows one batch created per second), sent with no SDK retry, and a 429 is retried
 *   after its retry-after by the activity.
 * - Status and counts: derived (./batch-object.ts). Results: `GET /v1/batches/{id}/results?limit=1000`, paged by
 *   `pagination_token`, each mapped to an OpenAI output line (./result-line.ts); requests without a result (cancelled,
 *   expired) are given their line by the worker.
 */
import type OpenAI from 'openai';
import type { Batch } from '../../contract/batch';
import type { ProviderCapabilities } from '../capabilities';
import type { ProviderInfo } from '../http-errors';
import { SdkClients } from '../sdk-clients';
import { preparedFile, preparedFileId, requirePreparedFile, ProviderError } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, ResultLine } from '../types';
import { compatibleClient } from '../openai/compatible';
import { runKey, runNonce } from '../run-nonce';
import { toOpenAIBatch, xaiSeconds } from './batch-object';
import { xaiCalls } from './errors';
import { toOpenAIResultLine } from './result-line';
import type { XaiBatch, XaiBatchList, XaiResultPage } from './wire';
import { partFileName, partUpload } from '../part-input';

/** The prefix of the `name` that carries the idempotency key. */
export const NAME_PREFIX = 'anybatch:';
const LIST_PAGE = 100;
const RESULTS_PAGE = 1000;
/** The listing order is not documented, so a search for an earlier batch looks this far. */
const MAX_SCAN = 10_000;
/** xAI allows one batch created per second; a little more, for clock differences. */
export const CREATE_SPACING_MS = 1_050;
/** The endpoint reported when a batch is read without its context (xAI's batch object does not carry one). */
const DEFAULT_ENDPOINT = '/v1/chat/completions';

/** The `name` of a part's batch: `anybatch:<idempotency key>#<run nonce>` (with no nonce, the key alone). */
export function batchName(idempotencyKey: string, nonce?: string): string {
  return `${NAME_PREFIX}${nonce === undefined ? idempotencyKey : runKey(idempotencyKey, nonce)}`;
}

export class XaiAdapter implements ProviderAdapter {
  private readonly clients: SdkClients<OpenAI>;
  private readonly call: ReturnType<typeof xaiCalls>['call'];
  /** Per client: when the last create was sent, chained so that creates go out one at a time. */
  private readonly creates = new WeakMap<OpenAI, Promise<number>>();

  constructor(
    readonly capabilities: ProviderCapabilities,
    private readonly info: ProviderInfo,
    private readonly spacingMs = CREATE_SPACING_MS,
  ) {
    this.clients = new SdkClients(info, (options) => compatibleClient(options));
    this.call = xaiCalls(info).call;
  }

  private client(conn: ProviderConnection): OpenAI {
    return this.clients.get(conn);
  }

  async prepareInput(conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput> {
    const client = this.client(conn);
    const filename = partFileName(input);
    // Read lazily while the body is sent (from the file, or streamed from a remote store), never held in memory.
    const file = await this.call('upload input', async () =>
      client.files.create({ file: await partUpload(input, filename), purpose: 'batch' }),
    );
    return preparedFile(file.id);
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    const client = this.client(conn);
    const name = batchName(request.input.idempotencyKey, await runNonce(request.input));
    const ctx = { endpoint: request.endpoint, inputFileId: preparedFileId(request.prepared) ?? '' };
    const earlier = await this.call('list batches', () => this.findByName(client, name, request.input.notBefore));
    if (earlier) return toOpenAIBatch(earlier, ctx);
    const fileId = requirePreparedFile(request.prepared, this.info.label);
    const created = await this.spaced(client, () =>
      this.call('create batch', () => client.post<XaiBatch>('/batches', { body: { name, input_file_id: fileId }, maxRetries: 0 })),
    );
    return toOpenAIBatch(created, ctx);
  }

  /** Runs `create` at least `spacingMs` after the previous create of this client ended. */
  private async spaced<T>(client: OpenAI, create: () => Promise<T>): Promise<T> {
    const previous = this.creates.get(client) ?? Promise.resolve(0);
    let release!: (at: number) => void;
    const mine = new Promise<number>((resolve) => (release = resolve));
    this.creates.set(client, mine);
    const last = await previous;
    const wait = last + this.spacingMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    try {
      return await create();
    } finally {
      release(Date.now());
    }
  }

  /** The batch named `name` created at or after `notBefore`, searching every page (the order is not documented). */
  private async findByName(client: OpenAI, name: string, notBefore: number): Promise<XaiBatch | null> {
    let token: string | null = null;
    let scanned = 0;
    const seen = new Set<string>();
    do {
      const query: Record<string, unknown> = { limit: LIST_PAGE };
      if (token) query.pagination_token = token;
      const page: XaiBatchList = await client.get<XaiBatchList>('/batches', { query });
      for (const batch of page.batches ?? []) {
        const created = xaiSeconds(batch.create_time);
        if (batch.name === name && (created === null || created >= notBefore)) return batch;
        if (++scanned >= MAX_SCAN) return null;
      }
      token = page.pagination_token || null;
      if (token !== null) {
        if (seen.has(token)) return null; // a token that comes back would loop forever
        seen.add(token);
      }
    } while (token !== null);
    return null;
  }

  async retrieveBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const batch = await this.call('retrieve batch', () => this.client(conn).get<XaiBatch>(`/batches/${encodeURIComponent(id)}`));
    return toOpenAIBatch(batch, { endpoint: DEFAULT_ENDPOINT });
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    try {
      const batch = await this.call('cancel batch', () => this.client(conn).post<XaiBatch>(`/batches/${encodeURIComponent(id)}:cancel`, { body: {} }));
      return toOpenAIBatch(batch, { endpoint: DEFAULT_ENDPOINT });
    } catch (err) {
      // A batch that ended meanwhile cannot be cancelled; its current state is the answer.
      if (err instanceof ProviderError && err.kind === 'invalid_request') return this.retrieveBatch(conn, id);
      throw err;
    }
  }

  async *readResults(conn: ProviderConnection, batch: Batch, _input: ProviderInput): AsyncIterable<ResultLine> {
    const client = this.client(conn);
    const seen = new Set<string>();
    let token: string | null = null;
    do {
      const query: Record<string, unknown> = { limit: RESULTS_PAGE };
      if (token) query.pagination_token = token;
      const page: XaiResultPage = await this.call('download results', () =>
        client.get<XaiResultPage>(`/batches/${encodeURIComponent(batch.id)}/results`, { query }),
      );
      for (const result of page.results ?? []) yield toOpenAIResultLine(result, batch.id);
      token = page.pagination_token || null;
      if (token !== null) {
        if (seen.has(token)) throw new ProviderError('transient', `download results: ${this.info.label} returned the pagination token ${JSON.stringify(token)} twice.`);
        seen.add(token);
      }
      if ((page.results ?? []).length === 0) token = null;
    } while (token !== null);
  }
}
