/**
 * Together's Files and Batches APIs (docs/provider-apis-2.md section 6) through the official `together-ai` client
 * for every JSON call, with anybatch's streaming fetch, client cache and no SDK retries (the activities retry).
 *
 * - Translation: the part's OpenAI lines are written once to its work folder as Together's `{custom_id, body}`
 *   (./mapping.ts), in a file named after the idempotency key (`keyFileName`). A custom_id Together would refuse
 *   (over its 64 characters: `customIds` in ./limits.ts) is sent as a stand-in (../custom-ids.ts); the map of the
 *   stand-ins is written beside the file before it, and the results are mapped back through it: the user's ids
 *   are theirs, whatever Together takes.
 * - Upload: Together's documented redirect flow, done here because the SDK's `files.upload` helper ignores the
 *   client's base URL (it reads TOGETHER_API_BASE_URL once, at module load) and sends the local path as the file
 *   name: `POST {base}/files?file_name&file_type=jsonl&purpose=batch-api` (form-urlencoded, not following
 *   redirects) must answer 302 with `Location` and `x-together-file-id`; the file is then streamed from disk with
 *   `PUT <Location>` (Content-Length set, never held in memory), then read back with `files.retrieve`. Before
 *   uploading, `files.list` is searched for an earlier upload of this part (same name and size, created since the
 *   batch began), since Together batches carry no metadata to find it by. The uploaded name's digest covers the
 *   part's run nonce (src/providers/run-nonce.ts), so the search finds only this run's upload of this part: never
 *   an earlier run's of the same batch id (a corrected input of the same size), nor another deployment's.
 * - Create: `batches.list` (an unpaged array) is searched for a job on this part's file created since the batch
 *   began (this run's upload: a job on it can only be one an earlier attempt of this step made, its answer lost);
 *   otherwise `batches.create` (no SDK retry, whatever `clientArgs` say) answers `{job, warning?}`: the job is
 *   unwrapped, a warning is written to the worker's log once.
 * - Status: Together reports `progress` (0-100) and no request counts; the Batch carries `progress` and no
 *   `request_counts` (the orchestrator's counts are exact once the results are merged).
 * - Results: the output and error files, streamed and mapped to OpenAI lines; requests without a line (cancelled,
 *   expired) are given theirs by the worker.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import Together, { type ClientOptions } from 'together-ai';
import type { Batch } from '../../contract/batch';
import { MalformedLine, readJsonLines, splitLines } from '../../results/jsonl';
import { malformedResultLine, maxResultLineBytes } from '../../results/malformed';
import type { ProviderCapabilities } from '../capabilities';
import { CustomIdMap, fitsRule, type CustomIdRule } from '../custom-ids';
import { scrub, type ProviderInfo } from '../http-errors';
import { SdkClients, type SdkClientOptions } from '../sdk-clients';
import { safeUrl, type FetchFunction } from '../streaming-fetch';
import { runNonce, writeDurable } from '../run-nonce';
import { renameDurably } from '../../storage/fsync';
import { ProviderError, preparedFile, requirePreparedFile } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, RequestCheck, ResultLine } from '../types';
import { httpError, togetherCalls } from './errors';
import { keyFileName, LineTranslationError, toOpenAIBatch, toOpenAIResultLine, togetherSeconds, toTogetherLine, type TogetherJob } from './mapping';
import { partChunks } from '../part-input';

/** The purpose Together's batch inputs are uploaded with. */
export const UPLOAD_PURPOSE = 'batch-api';
/** How long the PUT of the file may take at least (a 100 MB upload outlasts Together's 1-minute client timeout). */
export const MIN_PUT_TIMEOUT_MS = 10 * 60_000;
/** Warnings already logged, by job id (bounded: a warning comes only with the create that made the job). */
const WARNED_MAX = 1000;

interface Handle {
  client: Together;
  /** The traced streaming fetch the client was given, for the upload's own two requests. */
  fetch: FetchFunction;
  baseURL: string;
  timeout: number;
  apiKey: string;
}

export type WarnFunction = (message: string, meta: Record<string, unknown>) => void;

/** The connection's log (the worker's, in an activity: the activities pass theirs); a process warning elsewhere. */
function connectionWarn(conn: ProviderConnection): WarnFunction {
  return (message, meta) => {
    if (conn.log) conn.log.warn(message, meta);
    else process.emitWarning(message);
  };
}

function work(input: ProviderInput): { requests: string; model: string; ids: string } {
  const requests = path.join(input.workDir, keyFileName(input.idempotencyKey));
  return { requests, model: `${requests}.model.json`, ids: `${requests}.custom-ids.json` };
}

export class TogetherAdapter implements ProviderAdapter {
  private readonly clients: SdkClients<Handle>;
  private readonly call: ReturnType<typeof togetherCalls>['call'];
  private readonly toProviderError: ReturnType<typeof togetherCalls>['toProviderError'];
  private readonly warned = new Set<string>();

  constructor(
    readonly capabilities: ProviderCapabilities,
    private readonly info: ProviderInfo,
    /** Where create warnings go instead of the connection's log (tests). */
    private readonly warn?: WarnFunction,
  ) {
    this.clients = new SdkClients<Handle>(info, (options) => this.make(options));
    const calls = togetherCalls(info);
    this.call = calls.call;
    this.toProviderError = calls.toProviderError;
  }

  private make(options: SdkClientOptions): Handle {
    const client = new Together({ ...options, baseURL: options.baseURL ?? this.info.defaultBaseURL ?? undefined } as ClientOptions);
    return { client, fetch: options.fetch, baseURL: client.baseURL, timeout: client.timeout, apiKey: client.apiKey };
  }

  private handle(conn: ProviderConnection): Handle {
    return this.clients.get(conn);
  }

  checkRequest(): RequestCheck {
    return { problems: [], warnings: [] };
  }

  /** Together's rule for custom_ids (its limits.ts), which the map of each part follows. */
  private get idRule(): CustomIdRule {
    return this.capabilities.customIds ?? { maxLength: Number.MAX_SAFE_INTEGER };
  }

  /** A line's size once sent: Together's `{custom_id, body}`, a remapped id counted at its longest. */
  sentBytes(line: Buffer, endpoint: string): number {
    const rule = this.idRule;
    try {
      const parsed = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
      return Buffer.byteLength(toTogetherLine(parsed, endpoint, (id) => (fitsRule(id, rule) ? id : 'x'.repeat(rule.maxLength))).text) + 1;
    } catch {
      return line.length + 1;
    }
  }

  /** The part's map of stand-in custom_ids (empty: every id was sent as it is, or a part translated before maps). */
  private async readIds(input: ProviderInput): Promise<CustomIdMap> {
    let entries: Record<string, string> = {};
    try {
      entries = JSON.parse(await fs.promises.readFile(work(input).ids, 'utf8')) as Record<string, string>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return CustomIdMap.restore(new CustomIdMap(this.idRule, null, `a custom_id ${this.info.label} takes`), Object.entries(entries));
  }

  /** Writes the part's Together lines to its work folder (once) and returns the file, its size and the model. */
  private async translate(input: ProviderInput): Promise<{ file: string; bytes: number; model: string | null }> {
    const { requests: file, model: modelFile, ids: idsFile } = work(input);
    if (fs.existsSync(file) && fs.existsSync(modelFile)) {
      const { model } = JSON.parse(await fs.promises.readFile(modelFile, 'utf8')) as { model: string | null };
      return { file, bytes: (await fs.promises.stat(file)).size, model };
    }
    await fs.promises.mkdir(input.workDir, { recursive: true });
    const tmp = `${file}.tmp`;
    const out = fs.createWriteStream(tmp);
    const ids = new CustomIdMap(this.idRule, null, `a custom_id ${this.info.label} takes`);
    let model: string | null = null;
    let lineNo = 0;
    try {
      for await (const raw of splitLines(partChunks(input))) {
        lineNo++;
        if (raw.length === 0) continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new LineTranslationError('not valid JSON', 'line');
        }
        const line = toTogetherLine(parsed as Record<string, unknown>, input.endpoint, (id) => ids.add(id));
        model ??= line.model;
        if (!out.write(line.text + '\n')) await once(out, 'drain');
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      out.destroy();
      await fs.promises.rm(tmp, { force: true });
      if (err instanceof LineTranslationError) {
        throw new ProviderError('invalid_request', `${input.path}, line ${lineNo} (${err.field}): ${err.message}. Nothing was sent to ${this.info.label}.`);
      }
      throw err;
    }
    // The map first: a translated file is never without the map of its stand-ins.
    await writeDurable(idsFile, JSON.stringify(Object.fromEntries(ids.entries())));
    await writeDurable(modelFile, JSON.stringify({ model }));
    await renameDurably(tmp, file);
    return { file, bytes: (await fs.promises.stat(file)).size, model };
  }

  async prepareInput(conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput> {
    const handle = this.handle(conn);
    const { file, bytes } = await this.translate(input);
    const filename = keyFileName(input.idempotencyKey, await runNonce(input));
    const earlier = await this.call('list files', async () => {
      const list = await handle.client.files.list();
      return (list.data ?? []).find((f) => {
        const created = togetherSeconds(f.created_at);
        return f.filename === filename && f.bytes === bytes && (f.purpose as string) === UPLOAD_PURPOSE && (created === null || created >= input.notBefore);
      });
    });
    if (earlier) return preparedFile(earlier.id);
    return preparedFile(await this.upload(handle, file, filename, bytes));
  }

  /** Together's upload: the redirect, the PUT of the file from disk, then the file read back. Returns its id. */
  private async upload(handle: Handle, file: string, filename: string, bytes: number): Promise<string> {
    const label = this.info.label;
    const params = new URLSearchParams({ file_name: filename, file_type: 'jsonl', purpose: UPLOAD_PURPOSE });
    const postUrl = `${handle.baseURL.replace(/\/+$/, '')}/files?${params}`;
    const shown = safeUrl(postUrl);
    const { fileId, location } = await this.call('upload input', async () => {
      const res = await this.send(handle, postUrl, {
        method: 'POST',
        headers: { Authorization: `Bearer ${handle.apiKey}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: params.toString(),
        redirect: 'manual',
      }, handle.timeout);
      const text = await res.text().catch(() => '');
      if (res.status >= 400) throw httpError(res.status, res.headers, text);
      const id = res.headers.get('x-together-file-id') ?? '';
      const to = res.headers.get('location') ?? '';
      if (res.status !== 302 || id === '') {
        const redirected = res.status >= 300 && res.status < 400 && to !== '' ? ` (redirecting to ${safeUrl(new URL(to, postUrl))})` : '';
        throw new ProviderError(
          'bad_endpoint',
          `upload input: POST ${shown} answered ${res.status}${redirected} without ${label}'s upload redirect (302 with x-together-file-id), so the base URL ${safeUrl(handle.baseURL)} is not the ${label} API. Check the base URL (set by apiBase / --api-base, or ${this.info.baseEnv} on the worker).`,
          { status: res.status, url: shown },
        );
      }
      if (to === '') throw new ProviderError('transient', `upload input: POST ${shown} redirected (302) without a Location for file ${id}.`, { status: 302, url: shown });
      let target: URL;
      try {
        target = new URL(to, postUrl);
      } catch {
        throw new ProviderError('transient', `upload input: POST ${shown} redirected to an unreadable Location for file ${id}.`, { status: 302, url: shown });
      }
      if (target.protocol !== 'https:' && target.protocol !== 'http:') {
        throw new ProviderError('bad_endpoint', `upload input: POST ${shown} redirected to a ${target.protocol} URL for file ${id}; only http(s) uploads are possible.`, { status: 302, url: shown });
      }
      return { fileId: id, location: target };
    });

    const putShown = safeUrl(location);
    const putTimeout = Math.max(handle.timeout, MIN_PUT_TIMEOUT_MS);
    await this.call('upload input', async () => {
      // A file-backed Blob is read lazily while the body is sent (Content-Length from its size): flat memory.
      // No Authorization: the Location is a presigned URL, and its query string (the signature) is never shown.
      const res = await this.send(handle, location.href, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: await fs.openAsBlob(file) }, putTimeout);
      const text = await res.text().catch(() => '');
      if (res.status >= 200 && res.status < 300) return;
      const kind = res.status === 429 ? 'rate_limited' : res.status === 413 ? 'invalid_request' : 'transient';
      const hint = kind === 'transient' ? `; a retry asks ${label} for a new upload URL` : '';
      throw new ProviderError(kind, `upload input: PUT ${putShown} answered ${res.status}${uploadDetail(text, [handle.apiKey])} for file ${fileId}${hint}.`, {
        status: res.status,
        url: putShown,
      });
    });

    const uploaded = await this.call('upload input', () => handle.client.files.retrieve(fileId));
    if (uploaded.bytes !== bytes) {
      throw new ProviderError('transient', `upload input: ${label} holds ${uploaded.bytes} bytes of file ${fileId}, but ${bytes} were sent; it is uploaded again on retry.`);
    }
    return uploaded.id;
  }

  /** One request of the upload over the client's traced fetch, bounded by `timeoutMs`; failures as the SDK's. */
  private async send(handle: Handle, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      return await handle.fetch(url, { ...init, signal });
    } catch (err) {
      if (signal.aborted) {
        if (timeoutMs === handle.timeout) throw new Together.APIConnectionTimeoutError();
        throw new ProviderError('unreachable', `upload input: ${init.method} ${safeUrl(url)}: no answer within ${Math.round(timeoutMs / 1000)} s. If uploads are this slow, raise clientArgs.timeout.`, { url: safeUrl(url), cause: err });
      }
      throw new Together.APIConnectionError({ cause: err as Error });
    }
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    const { client } = this.handle(conn);
    const fileId = requirePreparedFile(request.prepared, this.info.label);
    const ctx = { endpoint: request.endpoint };
    const jobs = (await this.call('list batches', () => client.batches.list())) as TogetherJob[];
    const earlier = (Array.isArray(jobs) ? jobs : []).find((job) => {
      const created = togetherSeconds(job.created_at);
      return job.input_file_id === fileId && (created === null || created >= request.input.notBefore);
    });
    if (earlier) return toOpenAIBatch(earlier, ctx);
    const { model } = await this.translate(request.input);
    const created = await this.call('create batch', () =>
      client.batches.create(
        {
          input_file_id: fileId,
          endpoint: request.endpoint as '/v1/chat/completions',
          completion_window: request.completionWindow,
          ...(model ? { model_id: model } : {}),
        },
        { maxRetries: 0 },
      ),
    );
    const job = created?.job as TogetherJob | undefined;
    const warning = typeof created?.warning === 'string' && created.warning.trim() !== '' ? created.warning : null;
    if (!job || typeof job.id !== 'string' || job.id === '') {
      // Whether a job was made is unknown: a retry searches the jobs for one on this file before creating.
      throw new ProviderError('transient', `create batch: ${this.info.label} answered without a job for file ${fileId}${warning ? ` (warning: ${warning})` : ''}.`);
    }
    if (warning) this.warnOnce(this.warn ?? connectionWarn(conn), job.id, scrub(warning, [this.handle(conn).apiKey]), fileId);
    return toOpenAIBatch(job, ctx);
  }

  private warnOnce(warn: WarnFunction, jobId: string, warning: string, fileId: string): void {
    if (this.warned.has(jobId)) return;
    if (this.warned.size >= WARNED_MAX) this.warned.clear();
    this.warned.add(jobId);
    warn(`${this.info.label} created batch ${jobId} with a warning: ${warning}`, { provider: 'together', providerBatchId: jobId, inputFileId: fileId });
  }

  async retrieveBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const { client } = this.handle(conn);
    return toOpenAIBatch((await this.call('retrieve batch', () => client.batches.retrieve(id))) as TogetherJob);
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const { client } = this.handle(conn);
    try {
      return toOpenAIBatch((await this.call('cancel batch', () => client.batches.cancel(id))) as TogetherJob);
    } catch (err) {
      // A job that ended meanwhile cannot be cancelled; its current state is the answer.
      if (err instanceof ProviderError && (err.kind === 'invalid_request' || err.status === 409)) {
        const current = await this.retrieveBatch(conn, id);
        if (err.kind === 'invalid_request' || ['completed', 'failed', 'expired', 'cancelled'].includes(current.status)) return current;
      }
      throw err;
    }
  }

  async *readResults(conn: ProviderConnection, batch: Batch, input: ProviderInput): AsyncIterable<ResultLine> {
    const { client } = this.handle(conn);
    const ids = await this.readIds(input);
    const originalId = (sent: string) => ids.toOriginal(sent) ?? sent;
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const response = await this.call('download results', () => client.files.content(fileId));
      if (!response.body) continue;
      const length = Number(response.headers.get('content-length') ?? NaN);
      const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
      const maxLineBytes = maxResultLineBytes(this.capabilities);
      try {
        const lines = readJsonLines<Record<string, unknown>>(body, {
          source: `file ${fileId}`,
          expectedBytes: Number.isFinite(length) ? length : null,
          maxLineBytes,
          malformed: 'report',
        });
        for await (const line of lines) {
          // An unreadable line costs its own request only (with no custom_id to be found, the writer accounts for it).
          const out =
            line instanceof MalformedLine
              ? malformedResultLine(line, { provider: this.info.label, maxLineBytes, originalId: (id) => ids.toOriginal(id) })
              : toOpenAIResultLine(line, batch.id, originalId);
          if (out) yield out;
        }
      } catch (err) {
        if (err instanceof ProviderError) throw err;
        const recast = this.toProviderError(err, 'download results');
        // A cut-off download is a transient fault: the activity retries and writes nothing short.
        throw recast instanceof ProviderError ? recast : new ProviderError('transient', `download of ${fileId} failed: ${(err as Error).message}`, { cause: err });
      } finally {
        body.destroy();
      }
    }
  }
}

/** What a refused PUT said, shortly: an S3-style `<Code>`/`<Message>`, or the start of the text; never a signature. */
function uploadDetail(text: string, secrets: string[]): string {
  const code = /<Code>([^<]{1,80})<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]{1,200})<\/Message>/.exec(text)?.[1];
  if (code || message) return ` (${[code, message].filter(Boolean).join(': ')})`;
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '' || /signature|x-amz-|credential/i.test(flat)) return '';
  return ` (${scrub(flat.length > 160 ? `${flat.slice(0, 159)}…` : flat, secrets)})`;
}
