/**
 * Gemini Developer API batches through the official `@google/genai` SDK. OpenAI-format chat requests are translated
 * (./mapping.ts) into `{key, request}` lines in the part's work folder, streamed, so memory stays flat. Translated
 * requests under the inline limit (20 MB, or the `maxInlineBytes` option) go inline in the create call; above it
 * the file is uploaded with the SDK's resumable upload and the batch reads it.
 *
 * Idempotency: the upload and the batch carry `anybatch:<batch id>/<part>#<run nonce>` as their `displayName` (the
 * part's run nonce, src/providers/run-nonce.ts, made and made durable before the first of them is sent); a retry
 * finds the earlier upload or batch by listing and reuses it instead of making another. The nonce makes the name
 * this run's own: an earlier run of the same batch id, or another deployment's batch of that id, has another. The
 * create is sent once (no SDK retry, whatever `clientArgs.httpOptions.retryOptions` say). Counts: the SDK drops
 * `metadata.batchStats`, so batches are read raw (`GET /{v}/batches/{id}` through the SDK's own API client, with
 * its auth and fetch); results files are downloaded the same way and streamed.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BatchJob, File as GeminiFile } from '@google/genai';
import type { Batch } from '../../contract/batch';
import { MalformedLine, readFileChunks, readJsonLines, splitLines } from '../../results/jsonl';
import { malformedResultLine, maxResultLineBytes } from '../../results/malformed';
import type { ProviderCapabilities } from '../capabilities';
import type { ProviderInfo } from '../http-errors';
import { PREPARED_INLINE, preparedFile, preparedFileId, requirePreparedFile, ProviderError } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, RequestCheck, ResultLine } from '../types';
import { runKey, runNonce, writeDurable } from '../run-nonce';
import { renameDurably } from '../../storage/fsync';
import { displayNameOf, toOpenAIBatch, unixSeconds, type GeminiOperation } from './batch-object';
import { GeminiClients, type GeminiClient } from './client';
import { geminiCalls } from './errors';
import {
  GEMINI_MAX_INLINE_BYTES,
  checkGeminiRequest,
  fileRequestLine,
  geminiSentBytes,
  inlinedResponseKey,
  sdkInlinedRequest,
  toGeminiRequest,
  toOpenAIResultLine,
} from './mapping';
import type { FileRequestLine, GeminiResult } from './types';
import { partChunks } from '../part-input';

const PAGE = 100;
/** Gemini's listings have no documented order: a search for an earlier upload or batch looks this far. */
const MAX_SCAN = 10_000;
const BATCH_NAME = /^batches\/[A-Za-z0-9_-]+$/;
const FILE_NAME = /^files\/[A-Za-z0-9_-]+$/;

/** What prepareInput decided, kept in the part's work folder. */
interface Plan {
  model: string;
  mode: 'inline' | 'file';
  fileBytes: number;
  inlineBytes: number;
}

function files(input: ProviderInput) {
  return { requests: path.join(input.workDir, 'requests.jsonl'), plan: path.join(input.workDir, 'plan.json') };
}

function inlineLimit(options: Record<string, unknown>): number {
  return typeof options.maxInlineBytes === 'number' ? options.maxInlineBytes : GEMINI_MAX_INLINE_BYTES - 1;
}

async function readPlan(input: ProviderInput): Promise<Plan | null> {
  try {
    return JSON.parse(await fs.promises.readFile(files(input).plan, 'utf8')) as Plan;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The SDK's batch job (create's answer) in the REST shape; it has no counts. */
function operationOfJob(job: BatchJob): GeminiOperation {
  return {
    name: job.name ?? '',
    metadata: {
      displayName: job.displayName,
      model: job.model,
      state: job.state,
      createTime: job.createTime,
      updateTime: job.updateTime,
      endTime: job.endTime,
      ...(job.dest?.fileName ? { output: { responsesFile: job.dest.fileName } } : {}),
    },
  };
}

export class GeminiAdapter implements ProviderAdapter {
  private readonly clients: GeminiClients;
  private readonly call: ReturnType<typeof geminiCalls>['call'];

  constructor(
    readonly capabilities: ProviderCapabilities,
    private readonly info: ProviderInfo,
  ) {
    this.clients = new GeminiClients(info);
    this.call = geminiCalls(info).call;
  }

  private client(conn: ProviderConnection): GeminiClient {
    return this.clients.get(conn);
  }

  checkRequest(payload: Record<string, unknown>): RequestCheck {
    return checkGeminiRequest(payload);
  }

  /** A request's size in the uploaded file (its `{key, request}` line); inline it is about the same. */
  sentBytes(line: Buffer): number {
    const parsed = JSON.parse(line.toString('utf8')) as { custom_id: string; body?: Record<string, unknown> };
    return geminiSentBytes(parsed.custom_id, toGeminiRequest(parsed.body ?? {}).request, 'file');
  }

  async prepareInput(conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput> {
    const plan = (await readPlan(input)) ?? (await this.translate(input));
    if (plan.mode === 'inline') return PREPARED_INLINE;
    const { ai } = this.client(conn);
    const displayName = displayNameOf(runKey(input.idempotencyKey, await runNonce(input)));
    const earlier = await this.call('list files', async () => {
      let scanned = 0;
      for await (const file of await ai.files.list({ config: { pageSize: PAGE } })) {
        const created = unixSeconds(file.createTime) ?? Infinity;
        if (file.displayName === displayName && Number(file.sizeBytes) === plan.fileBytes && file.state !== 'FAILED' && created >= input.notBefore) return file;
        if (++scanned >= MAX_SCAN) break;
      }
      return null;
    });
    if (earlier?.name) return preparedFile(earlier.name);
    const uploaded: GeminiFile = await this.call('upload input', () =>
      ai.files.upload({ file: files(input).requests, config: { mimeType: 'application/jsonl', displayName } }),
    );
    if (!uploaded.name) throw new ProviderError('transient', `${this.info.label} answered the upload without a file name.`);
    return preparedFile(uploaded.name);
  }

  /** Writes the part's `{key, request}` lines to its work folder and decides inline or file. */
  private async translate(input: ProviderInput): Promise<Plan> {
    const f = files(input);
    await fs.promises.mkdir(input.workDir, { recursive: true });
    const out = fs.createWriteStream(f.requests + '.tmp');
    let model: string | null = null;
    let fileBytes = 0;
    let inlineBytes = 0;
    for await (const raw of splitLines(partChunks(input))) {
      if (raw.length === 0) continue;
      const line = JSON.parse(raw.toString('utf8')) as { custom_id: string; body?: Record<string, unknown> };
      const mapped = toGeminiRequest(line.body ?? {});
      model ??= mapped.model;
      const text = fileRequestLine(line.custom_id, mapped.request);
      fileBytes += Buffer.byteLength(text);
      inlineBytes += geminiSentBytes(line.custom_id, mapped.request, 'inline');
      if (!out.write(text)) await once(out, 'drain');
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (model === null) throw new ProviderError('invalid_request', `The part ${input.path} holds no requests.`);
    if (fileBytes > this.capabilities.maxBytesPerBatch) {
      await fs.promises.rm(f.requests + '.tmp', { force: true });
      throw new ProviderError('invalid_request', `The translated requests are ${fileBytes} bytes, more than ${this.info.label}'s ${this.capabilities.maxBytesPerBatch} per batch.`);
    }
    const plan: Plan = { model, mode: inlineBytes <= inlineLimit(input.options) ? 'inline' : 'file', fileBytes, inlineBytes };
    await renameDurably(f.requests + '.tmp', f.requests);
    await writeDurable(f.plan, JSON.stringify(plan));
    return plan;
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    const { input, prepared, endpoint } = request;
    const plan = await readPlan(input);
    if (!plan) throw new ProviderError('invalid_request', `The part's translated requests are missing from ${input.workDir}; prepare it first.`);
    const { ai } = this.client(conn);
    const displayName = displayNameOf(runKey(input.idempotencyKey, await runNonce(input)));
    const earlier = await this.call('list batches', async () => {
      let scanned = 0;
      for await (const job of await ai.batches.list({ config: { pageSize: PAGE } })) {
        const created = unixSeconds(job.createTime) ?? Infinity;
        if (job.displayName === displayName && created >= input.notBefore) return job;
        if (++scanned >= MAX_SCAN) break;
      }
      return null;
    });
    if (earlier?.name) return this.retrieveBatch(conn, earlier.name);
    let src: string | ReturnType<typeof sdkInlinedRequest>[];
    if (plan.mode === 'file') {
      src = requirePreparedFile(prepared, this.info.label, 'file-mode batches');
    } else {
      src = [];
      for await (const raw of splitLines(readFileChunks(files(input).requests))) {
        if (raw.length === 0) continue;
        const line = JSON.parse(raw.toString('utf8')) as FileRequestLine;
        src.push(sdkInlinedRequest(line.key, line.request));
      }
    }
    // One attempt whatever `clientArgs.httpOptions.retryOptions` say: a create re-sent after a lost answer is a second batch.
    const job = await this.call('create batch', () => ai.batches.create({ model: plan.model, src, config: { displayName, httpOptions: { retryOptions: { attempts: 1 } } } }));
    const op = operationOfJob(job);
    const fileName = preparedFileId(prepared);
    if (fileName) op.metadata = { ...op.metadata, inputConfig: { fileName } };
    return toOpenAIBatch(op, endpoint);
  }

  private async operation(conn: ProviderConnection, id: string, what: string): Promise<GeminiOperation> {
    if (!BATCH_NAME.test(id)) throw new ProviderError('not_found', `${what}: ${JSON.stringify(id)} is not a ${this.info.label} batch name (batches/...).`);
    const { raw } = this.client(conn);
    return this.call(what, async () => (await (await raw.request({ path: id, httpMethod: 'GET' })).json()) as GeminiOperation);
  }

  async retrieveBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    return toOpenAIBatch(await this.operation(conn, id, 'retrieve batch'), '/v1/chat/completions');
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const { ai } = this.client(conn);
    try {
      await this.call('cancel batch', () => ai.batches.cancel({ name: id }));
    } catch (err) {
      // A batch that ended meanwhile cannot be cancelled; its current state is the answer.
      if (!(err instanceof ProviderError && err.kind === 'invalid_request')) throw err;
    }
    return this.retrieveBatch(conn, id);
  }

  async *readResults(conn: ProviderConnection, batch: Batch, _input: ProviderInput): AsyncIterable<ResultLine> {
    const op = await this.operation(conn, batch.id, 'read results');
    const output = op.metadata?.output;
    const opts = { createdAt: batch.completed_at ?? batch.cancelled_at ?? batch.expired_at ?? batch.created_at, model: op.metadata?.model?.replace(/^models\//, '') };
    for (const response of output?.inlinedResponses?.inlinedResponses ?? []) {
      const key = inlinedResponseKey(response);
      if (key !== undefined) yield toOpenAIResultLine(key, response, opts);
    }
    const fileName = output?.responsesFile;
    if (!fileName) return;
    if (!FILE_NAME.test(fileName)) throw new ProviderError('invalid_request', `${this.info.label} named a results file ${JSON.stringify(fileName)} that is not files/...`);
    const { raw } = this.client(conn);
    const response = await this.call('download results', () =>
      raw.request({ path: `${fileName}:download`, httpMethod: 'GET', queryParams: { alt: 'media' } }),
    );
    const body = response.responseInternal.body;
    if (!body) return;
    const expected = Number(response.headers['content-length'] ?? NaN);
    const maxLineBytes = maxResultLineBytes(this.capabilities);
    try {
      const stream = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
      const lines = readJsonLines<GeminiResult & { key?: string }>(stream, {
        source: `file ${fileName}`,
        expectedBytes: Number.isFinite(expected) ? expected : null,
        maxLineBytes,
        malformed: 'report',
      });
      for await (const line of lines) {
        // An unreadable line costs its own request only (with no key to be found, the writer accounts for it).
        if (line instanceof MalformedLine) {
          const error = malformedResultLine(line, { provider: this.info.label, idField: 'key', maxLineBytes });
          if (error) yield error;
        } else if (typeof line.key === 'string') yield toOpenAIResultLine(line.key, line, opts);
      }
    } catch (err) {
      // A cut-off download is a transient fault: the activity retries and writes nothing short.
      throw err instanceof ProviderError ? err : new ProviderError('transient', `download of ${fileName} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}
