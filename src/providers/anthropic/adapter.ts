/**
 * Anthropic's Message Batches API through the official `@anthropic-ai/sdk`. OpenAI-format chat requests are
 * translated (mapping.ts) into Message Batches requests on the worker's disk, ids that Anthropic would refuse
 * are remapped (and mapped back in the results), and the create body is streamed, so memory stays flat.
 *
 * Anthropic batches carry no metadata, so the idempotency key cannot travel with the batch. Instead a marker
 * file records the create: before the call (intent and time), after it (the batch id). A retry that finds an
 * intent without an id adopts the one batch created within seconds of the intent with exactly this request
 * count; otherwise it creates.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import Anthropic from '@anthropic-ai/sdk';
import type { MessageBatch } from '@anthropic-ai/sdk/resources/messages/batches';
import type { Batch } from '../../contract/batch';
import { MalformedLine, readFileChunks, readJsonLines, splitLines } from '../../results/jsonl';
import { malformedResultLine, maxResultLineBytes } from '../../results/malformed';
import type { ProviderCapabilities } from '../capabilities';
import { PREPARED_INLINE, ProviderError } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, RequestCheck, ResultLine } from '../types';
import type { ProviderInfo } from '../http-errors';
import { anthropicCalls } from './errors';
import { SdkClients } from '../sdk-clients';
import { ANTHROPIC_CUSTOM_ID, CustomIdMap, RequestMappingError, toAnthropicParams, toOpenAIBatch, toOpenAIResultLine } from './mapping';
import type { AnthropicMappingOptions } from './mapping';
import type { AnthropicResultLine } from './result-line';

const NATIVE_ENDPOINT = '/v1/messages';
/** How far around the recorded intent a retried create looks for the batch an earlier attempt made. */
const ADOPT_WINDOW_BEFORE_S = 5;
const ADOPT_WINDOW_AFTER_S = 300;

interface CreateMarker {
  intentAt: number;
  batchId?: string;
}

/** Provider options understood here (`createBatch(..., { defaultMaxTokens, responseFormat, rawResults })`). */
function mappingOptions(options: Record<string, unknown>): AnthropicMappingOptions {
  const out: AnthropicMappingOptions = {};
  if (typeof options.defaultMaxTokens === 'number') out.defaultMaxTokens = options.defaultMaxTokens;
  if (options.responseFormat === 'native' || options.responseFormat === 'reject') out.responseFormat = options.responseFormat;
  return out;
}

function files(input: ProviderInput) {
  return {
    requests: path.join(input.workDir, 'requests.jsonl'),
    ids: path.join(input.workDir, 'custom-ids.json'),
    marker: path.join(input.workDir, 'create.json'),
  };
}

async function writeAtomic(file: string, data: string): Promise<void> {
  await fs.promises.writeFile(file + '.tmp', data);
  await fs.promises.rename(file + '.tmp', file);
}

export class AnthropicAdapter implements ProviderAdapter {
  private readonly clients: SdkClients<Anthropic>;
  private readonly call: ReturnType<typeof anthropicCalls>['call'];
  private readonly toProviderError: ReturnType<typeof anthropicCalls>['toProviderError'];

  constructor(
    readonly capabilities: ProviderCapabilities,
    private readonly info: ProviderInfo,
  ) {
    this.clients = new SdkClients(info, (options) => new Anthropic(options));
    const calls = anthropicCalls(info);
    this.call = calls.call;
    this.toProviderError = calls.toProviderError;
  }

  private client(conn: ProviderConnection): Anthropic {
    return this.clients.get(conn);
  }

  checkRequest(payload: Record<string, unknown>, endpoint: string, options: Record<string, unknown>): RequestCheck {
    if (endpoint === NATIVE_ENDPOINT) return { problems: [], warnings: [] };
    try {
      return { problems: [], warnings: toAnthropicParams(payload, mappingOptions(options)).warnings };
    } catch (err) {
      if (err instanceof RequestMappingError) return { problems: [{ field: err.field, message: err.message }], warnings: [] };
      throw err;
    }
  }

  /** A request's size in the create body: its translated JSON and a separating comma. */
  sentBytes(line: Buffer, endpoint: string, options: Record<string, unknown>): number {
    const parsed = JSON.parse(line.toString('utf8')) as { custom_id: string; body?: Record<string, unknown>; params?: Record<string, unknown> };
    const params = endpoint === NATIVE_ENDPOINT ? parsed.params : toAnthropicParams(parsed.body ?? {}, mappingOptions(options)).params;
    // An id that gets remapped becomes at most 64 characters: count that, so the estimate never falls short.
    const customId = ANTHROPIC_CUSTOM_ID.test(parsed.custom_id) ? parsed.custom_id : 'x'.repeat(64);
    return Buffer.byteLength(JSON.stringify({ custom_id: customId, params })) + 1;
  }

  /** Writes the part's Message Batches requests (and the remapped ids) to its work folder. */
  async prepareInput(_conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput> {
    const f = files(input);
    if (fs.existsSync(f.requests) && fs.existsSync(f.ids)) return PREPARED_INLINE;
    await fs.promises.mkdir(input.workDir, { recursive: true });
    const ids = new CustomIdMap();
    const opts = mappingOptions(input.options);
    const out = fs.createWriteStream(f.requests + '.tmp');
    let bytes = 0;
    for await (const raw of splitLines(readFileChunks(input.path))) {
      if (raw.length === 0) continue;
      const line = JSON.parse(raw.toString('utf8')) as { custom_id: string; body?: Record<string, unknown>; params?: Record<string, unknown> };
      const params = input.endpoint === NATIVE_ENDPOINT ? line.params : toAnthropicParams(line.body ?? {}, opts).params;
      const text = JSON.stringify({ custom_id: ids.add(line.custom_id), params }) + '\n';
      bytes += Buffer.byteLength(text);
      if (!out.write(text)) await once(out, 'drain');
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (bytes > this.capabilities.maxBytesPerBatch) {
      await fs.promises.rm(f.requests + '.tmp', { force: true });
      throw new ProviderError('invalid_request', `The translated requests are ${bytes} bytes, more than ${this.info.label}'s ${this.capabilities.maxBytesPerBatch} per batch.`);
    }
    await writeAtomic(f.ids, JSON.stringify(Object.fromEntries(ids.entries())));
    await fs.promises.rename(f.requests + '.tmp', f.requests);
    return PREPARED_INLINE;
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    const client = this.client(conn);
    const f = files(request.input);
    const marker = fs.existsSync(f.marker) ? (JSON.parse(await fs.promises.readFile(f.marker, 'utf8')) as CreateMarker) : null;
    if (marker?.batchId) return this.retrieveBatch(conn, marker.batchId);
    if (marker) {
      const adopted = await this.findCreatedAround(client, marker.intentAt, request.input.requestCount);
      if (adopted) {
        await writeAtomic(f.marker, JSON.stringify({ ...marker, batchId: adopted.id }));
        return toOpenAIBatch(adopted, { endpoint: NATIVE_ENDPOINT });
      }
    }
    const intent: CreateMarker = { intentAt: Math.floor(Date.now() / 1000) };
    await writeAtomic(f.marker, JSON.stringify(intent));
    // In the store before the request: a worker dying once it is sent leaves the intent for the next host to adopt.
    await request.input.persist?.();
    const created = await this.call('create message batch', () =>
      client.post<MessageBatch>('/v1/messages/batches', { body: requestsBody(f.requests), headers: { 'content-type': 'application/json' } }),
    );
    await writeAtomic(f.marker, JSON.stringify({ ...intent, batchId: created.id }));
    return toOpenAIBatch(created, { endpoint: NATIVE_ENDPOINT });
  }

  /** The batch an interrupted create made: created near `intentAt` with this many requests, if exactly one. */
  private async findCreatedAround(client: Anthropic, intentAt: number, requestCount: number): Promise<MessageBatch | null> {
    const matches: MessageBatch[] = [];
    await this.call('list message batches', async () => {
      for await (const batch of client.messages.batches.list({ limit: 100 })) {
        const created = Date.parse(batch.created_at) / 1000;
        if (created < intentAt - ADOPT_WINDOW_BEFORE_S) break;
        const c = batch.request_counts;
        const total = c.processing + c.succeeded + c.errored + c.canceled + c.expired;
        if (created <= intentAt + ADOPT_WINDOW_AFTER_S && total === requestCount) matches.push(batch);
      }
    });
    return matches.length === 1 ? matches[0] : null;
  }

  async retrieveBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    const batch = await this.call('retrieve message batch', () => this.client(conn).messages.batches.retrieve(id));
    return toOpenAIBatch(batch, { endpoint: NATIVE_ENDPOINT });
  }

  async cancelBatch(conn: ProviderConnection, id: string): Promise<Batch> {
    try {
      const batch = await this.call('cancel message batch', () => this.client(conn).messages.batches.cancel(id));
      return toOpenAIBatch(batch, { endpoint: NATIVE_ENDPOINT });
    } catch (err) {
      // A batch that ended meanwhile cannot be cancelled; its current state is the answer.
      if (err instanceof ProviderError && err.kind === 'invalid_request') return this.retrieveBatch(conn, id);
      throw err;
    }
  }

  async *readResults(conn: ProviderConnection, batch: Batch, input: ProviderInput): AsyncIterable<ResultLine> {
    const ids = CustomIdMap.fromEntries(Object.entries(JSON.parse(await fs.promises.readFile(files(input).ids, 'utf8')) as Record<string, string>));
    const raw = input.endpoint === NATIVE_ENDPOINT || input.options.rawResults === true;
    const createdAt = batch.completed_at ?? batch.expired_at ?? batch.cancelled_at ?? batch.created_at;
    const client = this.client(conn);
    // Not the SDK's `results()`: it holds each line whole however long and throws on the first that does not parse,
    // losing every result of the download. The raw body goes through `readJsonLines` instead: lines are bounded, an
    // unreadable one costs its own request only, and a body cut short of its Content-Length is still retried.
    const response = await this.call('download results', async () => {
      const current = await client.messages.batches.retrieve(batch.id);
      if (!current.results_url) throw new ProviderError('transient', `${this.info.label} batch ${batch.id} has no results_url yet (${current.processing_status}).`);
      return client.get<Response>(current.results_url, { headers: { Accept: 'application/binary' }, __binaryResponse: true });
    });
    if (!response.body) return;
    const expected = Number(response.headers.get('content-length') ?? NaN);
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    const maxLineBytes = maxResultLineBytes(this.capabilities);
    const malformed = { provider: this.info.label, maxLineBytes, originalId: (id: string) => ids.toOriginal(id) };
    try {
      const lines = readJsonLines<AnthropicResultLine>(body, {
        source: `results of ${batch.id}`,
        expectedBytes: Number.isFinite(expected) ? expected : null,
        maxLineBytes,
        malformed: 'report',
      });
      for await (const line of lines) {
        // An unreadable line costs its own request only (with no custom_id to be found, the writer accounts for it).
        const out = line instanceof MalformedLine ? malformedResultLine(line, malformed) : toOpenAIResultLine(line, ids.toOriginal(line.custom_id) ?? line.custom_id, { raw, createdAt });
        if (out) yield out;
      }
    } catch (err) {
      // A cut-off download is a transient fault: the activity retries and writes nothing short.
      if (err instanceof Anthropic.APIError) throw this.toProviderError(err, 'download results');
      throw new ProviderError('transient', `results download of ${batch.id} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** `{"requests":[line,line,...]}` streamed from the translated requests file. */
async function* requestsBody(file: string): AsyncGenerator<Buffer> {
  yield Buffer.from('{"requests":[');
  let first = true;
  // A read stream, not readFileChunks: the lines go on into the request body, which may hold them a while.
  for await (const line of splitLines(fs.createReadStream(file, { highWaterMark: 1 << 20 }))) {
    if (line.length === 0) continue;
    if (!first) yield Buffer.from(',');
    first = false;
    yield line;
  }
  yield Buffer.from(']}');
}
