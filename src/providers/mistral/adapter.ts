/**
 * Mistral's Files and Batch Jobs APIs through the official `@mistralai/mistralai` SDK (ESM only, see ./sdk.ts).
 *
 * prepareInput writes the part's requests as Mistral lines (`{custom_id, body}`, `body.model` taken out) to its
 * work folder and uploads them (`purpose: batch`) under a name that carries the part's run nonce
 * (src/providers/run-nonce.ts), unless an earlier attempt's upload (that same name and size, created since the batch
 * began) is found: never an earlier run's of the same batch id, nor another deployment's. createBatch sets the one
 * model at job level, `timeout_hours` from the completion window and the idempotency key in the job's metadata,
 * after searching the jobs for one with that key that reads this run's upload (`input_files`): a create whose answer
 * was lost is found again, and no other part's or run's job can be taken for it.
 * Results are the output and error files, streamed and mapped to OpenAI lines under the caller's custom_ids.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Batch } from '../../contract/batch';
import { MalformedLine, readJsonLines, splitLines } from '../../results/jsonl';
import { malformedResultLine, maxResultLineBytes } from '../../results/malformed';
import type { ProviderCapabilities } from '../capabilities';
import type { ProviderInfo } from '../http-errors';
import { SdkClients, type SdkClientOptions } from '../sdk-clients';
import type { FetchFunction } from '../streaming-fetch';
import { runFileName, runNonce, writeDurable } from '../run-nonce';
import { renameDurably } from '../../storage/fsync';
import { ProviderError, preparedFile, requirePreparedFile } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, RequestCheck, ResultLine } from '../types';
import { mistralCalls } from './errors';
import { timeoutHours } from './limits';
import { LineTranslationError, toMistralLine, toOpenAIBatch, toOpenAIResultLine, type MistralJob } from './mapping';
import { loadMistral, type MistralClient, type MistralModules } from './sdk';
import { partChunks, partFileName } from '../part-input';

/** Metadata key that ties a Mistral job to its anybatch batch and part (the idempotency key). */
export const KEY_METADATA = 'anybatch_key';
const PAGE = 100;
/** How many files or jobs a search for an earlier upload or job looks through at most. */
const MAX_SCAN = 10_000;

interface Handle {
  client: MistralClient;
  baseURL: string;
  timeout: number;
}

/** The Mistral SDK hands its fetcher a `Request`; the streaming fetch takes the URL and init, so bodies stream. */
function fetcherOf(fetch: FetchFunction) {
  return (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (typeof input === 'object' && input !== null && 'url' in input && 'method' in input) {
      const req = input as Request;
      return fetch(req.url, { method: req.method, headers: req.headers, body: req.body ?? undefined, signal: req.signal, ...init });
    }
    return fetch(input as string | URL, init);
  };
}

function work(input: ProviderInput) {
  return { requests: path.join(input.workDir, partFileName(input)) };
}

export class MistralAdapter implements ProviderAdapter {
  private modules: MistralModules | null = null;
  private readonly clients: SdkClients<Handle>;
  private readonly call: ReturnType<typeof mistralCalls>['call'];
  private readonly toProviderError: ReturnType<typeof mistralCalls>['toProviderError'];

  constructor(
    readonly capabilities: ProviderCapabilities,
    private readonly info: ProviderInfo,
  ) {
    this.clients = new SdkClients<Handle>(info, (options) => this.make(options));
    const calls = mistralCalls(info, () => this.modules?.errors ?? null);
    this.call = calls.call;
    this.toProviderError = calls.toProviderError;
  }

  private make(options: SdkClientOptions): Handle {
    const { sdk } = this.modules!;
    const { maxRetries: _retries, fetch, apiKey, baseURL, timeout, timeoutMs, defaultHeaders, ...rest } = options;
    const httpClient = new sdk.HTTPClient({ fetcher: fetcherOf(fetch) });
    if (defaultHeaders && typeof defaultHeaders === 'object') {
      httpClient.addHook('beforeRequest', (req) => {
        for (const [name, value] of Object.entries(defaultHeaders as Record<string, unknown>)) if (typeof value === 'string') req.headers.set(name, value);
      });
    }
    const ms = typeof timeoutMs === 'number' ? timeoutMs : typeof timeout === 'number' ? timeout : undefined;
    const serverURL = baseURL ?? this.info.defaultBaseURL ?? undefined;
    const client = new sdk.Mistral({ ...rest, apiKey, serverURL, httpClient, retryConfig: { strategy: 'none' }, ...(ms !== undefined ? { timeoutMs: ms } : {}) });
    return { client, baseURL: serverURL ?? '', timeout: ms ?? 0 };
  }

  private async client(conn: ProviderConnection): Promise<MistralClient> {
    if (!this.modules) {
      try {
        this.modules = await loadMistral();
      } catch (err) {
        throw new ProviderError('bad_endpoint', `The Mistral SDK (@mistralai/mistralai) could not be loaded: ${(err as Error).message}`, { cause: err });
      }
    }
    return this.clients.get(conn).client;
  }

  checkRequest(): RequestCheck {
    return { problems: [], warnings: [] };
  }

  /** A line's size once sent: Mistral's `{custom_id, body}` without the model. */
  sentBytes(line: Buffer, endpoint: string): number {
    try {
      return Buffer.byteLength(toMistralLine(JSON.parse(line.toString('utf8')) as Record<string, unknown>, endpoint).text) + 1;
    } catch {
      return line.length + 1;
    }
  }

  /** Writes the Mistral lines to the part's work folder (once) and returns the model and the file's size. */
  private async translate(input: ProviderInput): Promise<{ file: string; bytes: number; model: string | null }> {
    const file = work(input).requests;
    const modelFile = `${file}.model.json`;
    if (fs.existsSync(file) && fs.existsSync(modelFile)) {
      const { model } = JSON.parse(await fs.promises.readFile(modelFile, 'utf8')) as { model: string | null };
      return { file, bytes: (await fs.promises.stat(file)).size, model };
    }
    await fs.promises.mkdir(input.workDir, { recursive: true });
    const out = fs.createWriteStream(`${file}.tmp`);
    let model: string | null = null;
    let lineNo = 0;
    try {
      for await (const raw of splitLines(partChunks(input))) {
        lineNo++;
        if (raw.length === 0) continue;
        const line = toMistralLine(JSON.parse(raw.toString('utf8')) as Record<string, unknown>, input.endpoint);
        model ??= line.model;
        if (!out.write(line.text + '\n')) await once(out, 'drain');
      }
    } catch (err) {
      out.destroy();
      await fs.promises.rm(`${file}.tmp`, { force: true });
      if (err instanceof LineTranslationError) throw new ProviderError('invalid_request', `Line ${lineNo}: ${err.message}.`);
      throw err;
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await writeDurable(modelFile, JSON.stringify({ model }));
    await renameDurably(`${file}.tmp`, file);
    return { file, bytes: (await fs.promises.stat(file)).size, model };
  }

  async prepareInput(conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput> {
    const client = await this.client(conn);
    const { file, bytes } = await this.translate(input);
    const filename = runFileName(path.basename(file), await runNonce(input));
    const existing = await this.call('list files', async () => {
      let scanned = 0;
      for (let page = 0; scanned < MAX_SCAN; page++) {
        const list = await client.files.list({ page, pageSize: PAGE, purpose: 'batch', search: filename });
        for (const f of list.data) {
          if (f.filename === filename && f.sizeBytes === bytes && f.createdAt >= input.notBefore && f.sampleType === 'batch_request') return f;
        }
        scanned += list.data.length;
        if (list.data.length < PAGE) return null;
      }
      return null;
    });
    if (existing) return preparedFile(existing.id);
    // A file-backed Blob is read lazily while the body is sent, so the upload never sits in memory.
    const uploaded = await this.call('upload input', async () =>
      client.files.upload({ file: new File([await fs.openAsBlob(file)], filename, { type: 'application/jsonl' }), purpose: 'batch' }),
    );
    return preparedFile(uploaded.id);
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    const client = await this.client(conn);
    const key = request.input.idempotencyKey;
    const window = request.completionWindow;
    const hours = timeoutHours(window);
    if (hours === null) throw new ProviderError('invalid_request', `${this.info.label} takes completion windows of 1 to 168 hours (got "${window}").`);
    const inputFileId = requirePreparedFile(request.prepared, this.info.label);
    const earlier = await this.call('list batch jobs', async () => {
      let scanned = 0;
      for (let page = 0; scanned < MAX_SCAN; page++) {
        const list = await client.batch.jobs.list({ page, pageSize: PAGE, orderBy: '-created', metadata: { [KEY_METADATA]: key } });
        const data = (list.data ?? []) as MistralJob[];
        for (const job of data) {
          // This part's key on this run's upload: only a job an earlier attempt of this very step made.
          if (job.createdAt >= request.input.notBefore && job.metadata?.[KEY_METADATA] === key && (job.inputFiles ?? []).includes(inputFileId)) return job;
        }
        scanned += data.length;
        // Newest first: a page ending before the batch began ends the search.
        if (data.length < PAGE || data[data.length - 1].createdAt < request.input.notBefore) return null;
      }
      return null;
    });
    if (earlier) return toOpenAIBatch(earlier, window);
    const { model } = await this.translate(request.input);
    const job = await this.call('create batch job', () =>
      client.batch.jobs.create({
        inputFiles: [inputFileId],
        endpoint: request.endpoint as Parameters<MistralClient['batch']['jobs']['create']>[0]['endpoint'],
        ...(model ? { model } : {}),
        metadata: { ...request.metadata, [KEY_METADATA]: key },
        timeoutHours: hours,
      }),
    );
    return toOpenAIBatch(job as MistralJob, window);
  }

  async retrieveBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const client = await this.client(conn);
    return toOpenAIBatch((await this.call('retrieve batch job', () => client.batch.jobs.get({ jobId: id }))) as MistralJob);
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const client = await this.client(conn);
    try {
      return toOpenAIBatch((await this.call('cancel batch job', () => client.batch.jobs.cancel({ jobId: id }))) as MistralJob);
    } catch (err) {
      // A job that ended meanwhile cannot be cancelled; its current state is the answer.
      if (err instanceof ProviderError && err.kind === 'invalid_request') return this.retrieveBatch(conn, id);
      throw err;
    }
  }

  async *readResults(conn: ProviderConnection, batch: Batch, _input: ProviderInput): AsyncIterable<ResultLine> {
    const client = await this.client(conn);
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const meta = await this.call('retrieve result file', () => client.files.retrieve({ fileId }));
      const stream = await this.call('download results', () => client.files.download({ fileId }));
      const body = Readable.fromWeb(stream as import('node:stream/web').ReadableStream<Uint8Array>);
      const maxLineBytes = maxResultLineBytes(this.capabilities);
      try {
        const lines = readJsonLines<Record<string, unknown>>(body, { source: `file ${fileId}`, expectedBytes: meta.sizeBytes, maxLineBytes, malformed: 'report' });
        for await (const line of lines) {
          // An unreadable line costs its own request only (with no custom_id to be found, the writer accounts for it).
          const out = line instanceof MalformedLine ? malformedResultLine(line, { provider: this.info.label, maxLineBytes }) : toOpenAIResultLine(line);
          if (out) yield out;
        }
      } catch (err) {
        if (err instanceof ProviderError) throw err;
        const recast = this.toProviderError(err, 'download results');
        // A cut-off download is a transient fault: the activity retries and writes nothing short.
        throw recast instanceof ProviderError ? recast : new ProviderError('transient', `download of ${fileId} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
