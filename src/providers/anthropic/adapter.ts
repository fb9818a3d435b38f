/**
 * Anthropic's Message Batches API through the official `@anthropic-ai/sdk`. OpenAI-format chat requests are
 * translated (mapping.ts) into Message Batches requests on the worker's disk, ids that Anthropic would refuse
 * are remapped (and mapped back in the results), and the create body is streamed, so memory stays flat.
 *
 * Creates that cannot duplicate or adopt. Anthropic's batches carry no metadata and the API takes no idempotency
 * key, and what a listing shows of a batch (id, times, status, request counts) is shared by any batch of the same
 * size: a count and a time window prove nothing (equal-size split parts look alike; another team of the
 * organisation may create a batch of that size at that moment). What only this part's batch can hold is its
 * requests' custom_ids, so these carry the proof:
 * - Every custom_id a part sends starts with its tag, `<tag>_` (custom-ids.ts), where the tag is a digest of the
 *   part's idempotency key (`<batch id>/<part>`) and its run nonce (src/providers/run-nonce.ts: 80 random bits, made
 *   and made durable before the requests are written). No other part, no earlier run of the same batch id and no
 *   stranger can send that prefix. (A part prepared before tags existed has none: see below.)
 * - A create marker (`create.json` in the work folder) is written, fsynced and persisted to the batch's store BEFORE
 *   each create is sent (when), and again once the answer names the batch (which). A marker naming a batch is final.
 * - A marker with sends but no batch means a create may have been made whose answer was lost. The retry lists the
 *   batches created around those sends (`CREATE_SKEW_S` either side, for clocks) with exactly this request count:
 *   a candidate that has ended proves itself, or not, by the custom_id of its first result line (results exist only
 *   once a batch ends); one that proves to be ours is adopted (recorded in the marker); one that does not is never
 *   adopted. While any candidate is still in progress and none is proven, nothing is created and nothing is adopted:
 *   the call waits (polling, with backoff) for the candidates to end, up to `ADOPT_WAIT_MS`, then fails retryably
 *   naming them. Only when no candidate can be ours (none in the window, or every one proven another's) is a new
 *   create sent. So equal-size split parts never take each other's batch, a stranger's batch of the same size is
 *   never adopted, and a lost answer never leaves two batches for one part.
 * - The results are checked too: a line whose custom_id does not carry the part's tag is refused, never merged.
 * - Creates are sent with no SDK retry (a create re-sent by the SDK after a lost answer would be a second batch).
 * A part prepared by an earlier version (untagged ids, no nonce) whose create may have been sent cannot prove
 * anything: with no candidate it creates, with any it fails for good, naming them, rather than guess.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Anthropic from '@anthropic-ai/sdk';
import type { MessageBatch } from '@anthropic-ai/sdk/resources/messages/batches';
import type { Batch } from '../../contract/batch';
import { MalformedLine, readJsonLines, splitLines } from '../../results/jsonl';
import { malformedResultLine, maxResultLineBytes } from '../../results/malformed';
import type { ProviderCapabilities } from '../capabilities';
import { existingRunNonce, readJsonFile, runNonce, runTag, writeDurable } from '../run-nonce';
import { renameDurably } from '../../storage/fsync';
import { PREPARED_INLINE, ProviderError } from '../types';
import type { CreateProviderBatch, PreparedInput, ProviderAdapter, ProviderConnection, ProviderInput, RequestCheck, ResultLine } from '../types';
import type { ProviderInfo } from '../http-errors';
import { anthropicCalls } from './errors';
import { SdkClients } from '../sdk-clients';
import { ANTHROPIC_CUSTOM_ID, CustomIdMap, RequestMappingError, toAnthropicParams, toOpenAIBatch, toOpenAIResultLine } from './mapping';
import type { AnthropicMappingOptions } from './mapping';
import type { AnthropicResultLine } from './result-line';
import { ANTHROPIC_CUSTOM_IDS } from './limits';
import { partChunks } from '../part-input';

const NATIVE_ENDPOINT = '/v1/messages';
/** How far around a create's sending (our clock) the batch it made may say it was created (Anthropic's clock). */
export const CREATE_SKEW_S = 120;
/** How long a retried create waits for unproven candidates to end before it fails (retryably) naming them. */
export const ADOPT_WAIT_MS = 90 * 60_000;
/** The pauses between looks at unproven candidates: from the first, doubling up to the last. */
const ADOPT_POLL_FIRST_MS = 250;
const ADOPT_POLL_MAX_MS = 30_000;
/** How long a custom_id tag is: `runTag`'s 16 characters, then `_`. */
const TAG_PREFIX_LENGTH = 17;

/** How long a retried create waits for proof, and how often it looks (tests shorten them). */
export interface AdoptWait {
  maxMs: number;
  firstPollMs: number;
  maxPollMs: number;
}

interface CreateSend {
  /** When the create was sent (unix seconds, before it left). */
  at: number;
  /** When it was seen to fail (unix seconds): its batch, if it made one, was created before this. Absent: the worker died. */
  failedAt?: number;
  /** It was answered with a refusal (4xx but 408 and 409: e.g. 429, 413): it made no batch. */
  refused?: boolean;
}

/** `create.json`: the part's creates. Written before each create is sent and once one is answered. */
interface CreateMarker {
  /** When the first create was sent (unix seconds); the only field of markers written before `sends`. */
  intentAt: number;
  sends?: CreateSend[];
  /** The batch the part's create made: final once set. */
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


/** The part's custom_id tag, or null for a part prepared before tags existed (its requests carry none). */
async function partTag(input: ProviderInput): Promise<string | null> {
  const nonce = await existingRunNonce(input);
  return nonce === null ? null : runTag(input.idempotencyKey, nonce);
}

async function readIds(input: ProviderInput): Promise<CustomIdMap> {
  const entries = JSON.parse(await fs.promises.readFile(files(input).ids, 'utf8')) as Record<string, string>;
  return CustomIdMap.fromEntries(Object.entries(entries), await partTag(input));
}

function totalOf(batch: MessageBatch): number {
  const c = batch.request_counts;
  return c.processing + c.succeeded + c.errored + c.canceled + c.expired;
}

export class AnthropicAdapter implements ProviderAdapter {
  private readonly clients: SdkClients<Anthropic>;
  private readonly call: ReturnType<typeof anthropicCalls>['call'];
  private readonly toProviderError: ReturnType<typeof anthropicCalls>['toProviderError'];

  constructor(
    readonly capabilities: ProviderCapabilities,
    private readonly info: ProviderInfo,
    private readonly adoptWait: AdoptWait = { maxMs: ADOPT_WAIT_MS, firstPollMs: ADOPT_POLL_FIRST_MS, maxPollMs: ADOPT_POLL_MAX_MS },
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
    // Every id gets the part's tag; one that is remapped becomes at most 64 characters: count that, so the estimate
    // never falls short.
    const max = ANTHROPIC_CUSTOM_IDS.maxLength;
    const kept = ANTHROPIC_CUSTOM_ID.test(parsed.custom_id) && TAG_PREFIX_LENGTH + parsed.custom_id.length <= max;
    const customId = 'x'.repeat(kept ? TAG_PREFIX_LENGTH + parsed.custom_id.length : max);
    return Buffer.byteLength(JSON.stringify({ custom_id: customId, params })) + 1;
  }

  /** Writes the part's Message Batches requests (and the remapped ids) to its work folder. */
  async prepareInput(_conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput> {
    const f = files(input);
    if (fs.existsSync(f.requests) && fs.existsSync(f.ids)) return PREPARED_INLINE;
    await fs.promises.mkdir(input.workDir, { recursive: true });
    // The nonce is durable before any id derived from it is written (see the header).
    const ids = new CustomIdMap(runTag(input.idempotencyKey, await runNonce(input)));
    const opts = mappingOptions(input.options);
    const out = fs.createWriteStream(f.requests + '.tmp');
    let bytes = 0;
    for await (const raw of splitLines(partChunks(input))) {
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
    // Both durable before the part counts as prepared: a create sends the requests, results are mapped back by the ids.
    await writeDurable(f.ids, JSON.stringify(Object.fromEntries(ids.entries())));
    await renameDurably(f.requests + '.tmp', f.requests);
    return PREPARED_INLINE;
  }

  async createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch> {
    const client = this.client(conn);
    const { input } = request;
    const f = files(input);
    let marker = await readJsonFile<CreateMarker>(f.marker);
    if (marker?.batchId) return this.retrieveBatch(conn, marker.batchId);
    if (marker && openSends(marker).length > 0) {
      const tag = await partTag(input);
      const ours = tag === null ? await this.refuseUnproven(client, marker, input) : await this.provenCandidate(client, marker, input.requestCount, tag);
      if (ours) {
        await this.writeMarker(input, { ...marker, batchId: ours.id });
        return toOpenAIBatch(ours, { endpoint: NATIVE_ENDPOINT });
      }
      // No batch of this part exists: sending the create again cannot make a second one.
    }
    const send: CreateSend = { at: Math.floor(Date.now() / 1000) };
    marker = { intentAt: marker?.intentAt ?? send.at, sends: [...sendsOf(marker), send] };
    // Durable, and in the store, before the request: a worker dying once it is sent leaves the sending for the next host.
    await this.writeMarker(input, marker);
    let created: MessageBatch;
    try {
      created = await this.call('create message batch', () =>
        client.post<MessageBatch>('/v1/messages/batches', { body: requestsBody(f.requests), headers: { 'content-type': 'application/json' }, maxRetries: 0 }),
      );
    } catch (err) {
      // Unless the API answered with a refusal, the batch may exist: its creation time is bounded from above from now on.
      send.failedAt = Math.floor(Date.now() / 1000);
      const status = err instanceof ProviderError ? err.status : null;
      if (status !== null && status >= 400 && status < 500 && status !== 408 && status !== 409) send.refused = true;
      await this.writeMarker(input, marker).catch(() => undefined);
      throw err;
    }
    await this.writeMarker(input, { ...marker, batchId: created.id });
    return toOpenAIBatch(created, { endpoint: NATIVE_ENDPOINT });
  }

  private async writeMarker(input: ProviderInput, marker: CreateMarker): Promise<void> {
    await writeDurable(files(input).marker, JSON.stringify(marker));
    await input.persist?.();
  }

  /**
   * The batches an earlier create of this part may have made: created within `CREATE_SKEW_S` of one of its sends
   * (and before that send was seen to fail), with exactly `requestCount` requests; newest first.
   */
  private async candidates(client: Anthropic, marker: CreateMarker, requestCount: number): Promise<MessageBatch[]> {
    const sends = openSends(marker);
    const earliest = Math.min(...sends.map((s) => s.at)) - CREATE_SKEW_S;
    const found: MessageBatch[] = [];
    await this.call('list message batches', async () => {
      found.length = 0;
      // Newest first: the listing ends at the first batch older than the earliest send.
      for await (const batch of client.messages.batches.list({ limit: 100 })) {
        const created = Date.parse(batch.created_at) / 1000;
        if (created < earliest) break;
        const near = sends.some((s) => created >= s.at - CREATE_SKEW_S && (s.failedAt === undefined || created <= s.failedAt + CREATE_SKEW_S));
        if (near && totalOf(batch) === requestCount) found.push(batch);
      }
    });
    return found;
  }

  /**
   * The candidate proven to be this part's, by a result line carrying the part's tag; null once no candidate can be
   * (none, or each ended and proven another's). Waits while candidates are unproven (in progress); past the wait,
   * fails retryably naming them. Never creates, never adopts without proof.
   */
  private async provenCandidate(client: Anthropic, marker: CreateMarker, requestCount: number, tag: string): Promise<MessageBatch | null> {
    const deadline = Date.now() + this.adoptWait.maxMs;
    const others = new Set<string>();
    let pause = this.adoptWait.firstPollMs;
    for (;;) {
      const unproven: MessageBatch[] = [];
      for (const batch of await this.candidates(client, marker, requestCount)) {
        if (others.has(batch.id)) continue;
        const firstId = batch.processing_status === 'ended' ? await this.firstResultId(client, batch) : null;
        if (firstId === null) unproven.push(batch);
        else if (firstId.startsWith(`${tag}_`)) return batch;
        else others.add(batch.id);
      }
      if (unproven.length === 0) return null;
      const left = deadline - Date.now();
      if (left <= 0) {
        const ids = unproven.map((b) => b.id).join(', ');
        throw new ProviderError(
          'transient',
          `create message batch: an earlier create of this part may have made one of ${this.info.label} batches ${ids} (its answer was lost; they have this part's ` +
            `${requestCount} requests and were created when it was sent), and they are still ${unproven.map((b) => b.processing_status).join(', ')} after ` +
            `${Math.round(this.adoptWait.maxMs / 60_000)} min. Which one is this part's can be read from its results only once it ends: none is adopted, and no ` +
            'other batch is created meanwhile (it could be a duplicate).',
        );
      }
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, this.adoptWait.maxPollMs);
    }
  }

  /** The custom_id of an ended batch's first result line; null when its results cannot be read (yet). */
  private async firstResultId(client: Anthropic, batch: MessageBatch): Promise<string | null> {
    if (!batch.results_url) return null;
    const resultsUrl = batch.results_url;
    const response = await this.call('read results', () => client.get<Response>(resultsUrl, { headers: { Accept: 'application/binary' }, __binaryResponse: true }));
    if (!response.body) return null;
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    try {
      const lines = readJsonLines<AnthropicResultLine>(body, { source: `results of ${batch.id}`, expectedBytes: null, maxLineBytes: maxResultLineBytes(this.capabilities), malformed: 'report' });
      for await (const line of lines) {
        if (line instanceof MalformedLine) continue;
        if (typeof line.custom_id === 'string') return line.custom_id;
      }
      return null;
    } catch (err) {
      throw err instanceof ProviderError ? err : new ProviderError('transient', `reading the results of ${batch.id} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      body.destroy();
    }
  }

  /**
   * A part prepared before tags: nothing can prove a batch its own. With no candidate at all, no earlier create made
   * one (null: create); with any, fail for good naming them rather than adopt one or create a possible duplicate.
   */
  private async refuseUnproven(client: Anthropic, marker: CreateMarker, input: ProviderInput): Promise<null> {
    const candidates = await this.candidates(client, marker, input.requestCount);
    if (candidates.length === 0) return null;
    throw new ProviderError(
      'invalid_request',
      `create message batch: an earlier create of part ${input.idempotencyKey} may have made ${this.info.label} batch ${candidates.map((b) => b.id).join(' or ')} ` +
        '(same request count, created when it was sent), but the part was prepared by an earlier anybatch whose custom_ids carry no tag, so which is its own ' +
        'cannot be proven: none is adopted and no other is created. Check them at Anthropic, then submit the batch again.',
    );
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
    const ids = await readIds(input);
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
        if (!(line instanceof MalformedLine) && typeof line.custom_id === 'string' && !ids.carriesTag(line.custom_id)) {
          // Not a request this part sent (see the header): the batch is not its own, and nothing of it is merged.
          throw new ProviderError('invalid_request', `The results of ${this.info.label} batch ${batch.id} hold custom_id ${JSON.stringify(line.custom_id)}, which this part never sent: they are not this part's, and are not merged.`);
        }
        // An unreadable line costs its own request only (with no custom_id to be found, the writer accounts for it).
        const out = line instanceof MalformedLine ? malformedResultLine(line, malformed) : toOpenAIResultLine(line, ids.toOriginal(line.custom_id) ?? line.custom_id, { raw, createdAt });
        if (out) yield out;
      }
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      // A cut-off download is a transient fault: the activity retries and writes nothing short.
      if (err instanceof Anthropic.APIError) throw this.toProviderError(err, 'download results');
      throw new ProviderError('transient', `results download of ${batch.id} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** The sends a marker records (a marker written before `sends` existed records one, at `intentAt`). */
function sendsOf(marker: CreateMarker | null): CreateSend[] {
  if (marker === null) return [];
  return marker.sends && marker.sends.length > 0 ? marker.sends : [{ at: marker.intentAt }];
}

/** The sends that may have made a batch (all but those the API refused). */
function openSends(marker: CreateMarker): CreateSend[] {
  return sendsOf(marker).filter((send) => !send.refused);
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
