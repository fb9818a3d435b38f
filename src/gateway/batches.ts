/**
 * The gateway's batches: each one a normal anybatch batch (`createBatch`, visible to `anybatch get/list`, the library
 * and the Web UI, cancellable from any of them), owned by the caller's scope through markers in the store:
 * `gateway/<provider>/<scope>/batches/<order>` (newest first: the order is an inverted time) and
 * `.../batch-ids/<batch id>` (its order key and input file). A batch without the caller's marker is a 404, exactly as
 * if it did not exist. Its results are two gateway files, `file-<batch id>-output` and `file-<batch id>-errors`.
 */
import type { Batch } from '../contract/batch';
import type { AnybatchBatch } from '../contract/batch';
import { cancelBatch, createBatch, retrieveBatch } from '../api';
import { openResultFile } from '../batches/results';
import { BatchNotFoundError, UsageError, InputValidationError } from '../errors';
import type { CreateBatchOptions, ClientOptions } from '../options';
import { providerDefinition } from '../providers/registry';
import type { ProviderName } from '../providers/registry';
import type { BlobStore } from '../storage';
import type { Caller } from './callers';
import { readStoreJson } from './store-json';
import { badRequest, notFound } from './errors';
import { scopeRoot, type GatewayFiles } from './files';

/** Metadata keys with this prefix carry anybatch's options (documented in the README's Gateway section). */
export const OPTION_PREFIX = 'anybatch_';

const RESULT_FILE = /^file-(ab_[a-z0-9]+)-(output|errors)$/;
const MAX_ORDER = 9_999_999_999_999;

interface Marker {
  order: string;
  input_file_id: string;
}

/** A metadata value as JSON when it parses, else as the string it is. */
function valueOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The caller's metadata split into theirs and anybatch's options: `anybatch_max_requests_per_part`,
 * `anybatch_max_bytes_per_part`, `anybatch_retry_failed` (rounds, or `{"rounds","codes"}`), `anybatch_admission`
 * (`{"requests","batches","enqueuedTokens"}`), `anybatch_submit_concurrency`, `anybatch_webhook` (a URL), and `anybatch_option_<name>` for the
 * provider's own options (its definition's names only: never anybatch's common options such as `apiBase`, `apiKey`,
 * `temporal`, `taskQueue`, `resultsDir` or `batchId`, which would let a caller send a key the gateway holds, or the
 * worker, where it chooses). Any other `anybatch_` key is refused, so a misspelt option is not silently ignored.
 */
export function optionsFromMetadata(provider: ProviderName, metadata: Record<string, string> | null): { metadata: Record<string, string> | null; options: Record<string, unknown>; providerOptions: Record<string, unknown> } {
  if (!metadata) return { metadata: null, options: {}, providerOptions: {} };
  const own: Record<string, string> = {};
  const options: Record<string, unknown> = {};
  const providerOptions: Record<string, unknown> = {};
  const named: Record<string, string> = {
    anybatch_max_requests_per_part: 'maxRequestsPerPart',
    anybatch_max_bytes_per_part: 'maxBytesPerPart',
    anybatch_retry_failed: 'retryFailed',
    anybatch_admission: 'admission',
    anybatch_submit_concurrency: 'submitConcurrency',
    anybatch_webhook: 'webhook',
  };
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.startsWith(OPTION_PREFIX)) {
      own[key] = value;
    } else if (named[key]) {
      const parsed = valueOf(value);
      options[named[key]] = key === 'anybatch_retry_failed' && typeof parsed === 'number' ? { rounds: parsed } : key === 'anybatch_webhook' && typeof parsed === 'string' ? { url: parsed } : parsed;
    } else if (key.startsWith(`${OPTION_PREFIX}option_`) && key.length > `${OPTION_PREFIX}option_`.length) {
      const name = key.slice(`${OPTION_PREFIX}option_`.length);
      const names: readonly string[] = providerDefinition(provider).options.names;
      if (!names.includes(name)) {
        const known = names.length ? `its options: ${names.map((n) => `anybatch_option_${n}`).join(', ')}` : 'it has no options of its own';
        throw badRequest(`metadata key ${JSON.stringify(key)} is not an option of ${provider} (${known}).`, 'metadata');
      }
      providerOptions[name] = valueOf(value);
    } else {
      throw badRequest(`metadata key ${JSON.stringify(key)} is not one of anybatch's options (${[...Object.keys(named), 'anybatch_option_<name>'].join(', ')}).`, 'metadata');
    }
  }
  return { metadata: Object.keys(own).length ? own : null, options, providerOptions };
}

export class GatewayBatches {
  constructor(
    private readonly store: BlobStore,
    private readonly provider: ProviderName,
    private readonly files: GatewayFiles,
    private readonly client: ClientOptions,
    private readonly tmpDir: string,
    private readonly defaults: Record<string, unknown> = {},
  ) {}

  private keys(scope: string) {
    const root = scopeRoot(this.provider, scope);
    return { order: `${root}batches/`, ids: `${root}batch-ids/` };
  }

  private async marker(scope: string, batchId: string): Promise<Marker | null> {
    if (!/^ab_[a-z0-9]+$/.test(batchId)) return null;
    return readStoreJson<Marker>(this.store, `${this.keys(scope).ids}${batchId}.json`);
  }

  /** The caller's batch, or a 404 as if it did not exist. */
  private async owned(caller: Caller, batchId: string): Promise<{ batch: AnybatchBatch; marker: Marker }> {
    const marker = await this.marker(caller.scope, batchId);
    if (!marker) throw notFound(`No batch found with id '${batchId}'.`);
    try {
      return { batch: await retrieveBatch(this.provider, batchId, this.client), marker };
    } catch (err) {
      if (err instanceof BatchNotFoundError) throw notFound(`No batch found with id '${batchId}'.`);
      throw err;
    }
  }

  async create(caller: Caller, body: Record<string, unknown>): Promise<Batch> {
    const inputFileId = body.input_file_id;
    if (typeof inputFileId !== 'string') throw badRequest('input_file_id is required.', 'input_file_id');
    const file = await this.files.get(caller.scope, inputFileId);
    if (!file) throw notFound(`No such File object: ${inputFileId}`);
    const endpoint = typeof body.endpoint === 'string' ? body.endpoint : file.anybatch.endpoint;
    if (endpoint !== file.anybatch.endpoint) throw badRequest(`endpoint ${JSON.stringify(endpoint)} is not the endpoint of the lines of ${inputFileId} (${file.anybatch.endpoint}).`, 'endpoint');
    if (body.metadata !== undefined && body.metadata !== null && (typeof body.metadata !== 'object' || Array.isArray(body.metadata))) throw badRequest('metadata must be an object of strings.', 'metadata');
    const split = optionsFromMetadata(this.provider, (body.metadata as Record<string, string> | null | undefined) ?? null);
    // A keys file's options for a tenant are its operator's (a retry policy or an admission budget on a key the
    // gateway holds for that tenant): a caller's metadata cannot change them.
    const fixed = Object.keys({ ...split.options, ...split.providerOptions }).filter((name) => name in caller.options);
    if (fixed.length > 0) {
      throw badRequest(`${fixed.map((n) => JSON.stringify(n)).join(', ')} ${fixed.length === 1 ? 'is' : 'are'} set for this caller by the gateway's keys file; a batch's metadata cannot change ${fixed.length === 1 ? 'it' : 'them'}.`, 'metadata');
    }
    const held = caller.credentials(this.provider);
    const options = {
      ...this.client,
      // Answer as OpenAI does, as soon as the batch exists (status `validating`), not once the provider took every
      // part: a failure after that is the batch's `failed` status and errors, as at OpenAI.
      noWait: true,
      ...this.defaults,
      ...split.options,
      ...split.providerOptions,
      ...caller.options,
      ...(typeof body.completion_window === 'string' ? { completionWindow: body.completion_window } : {}),
      ...(split.metadata ? { metadata: split.metadata } : {}),
      ...(held?.apiKey !== undefined ? { apiKey: held.apiKey } : {}),
      ...(held?.apiBase !== undefined ? { apiBase: held.apiBase } : {}),
    } as CreateBatchOptions<ProviderName>;
    const input = await this.files.localPath(caller.scope, inputFileId, this.tmpDir);
    let created: AnybatchBatch;
    try {
      // createBatch stages the input into the store before it returns: a copy is not needed after it.
      created = await createBatch(this.provider, input.path, endpoint as never, options as never);
    } catch (err) {
      if (err instanceof UsageError || err instanceof InputValidationError) throw badRequest(err.message);
      throw err;
    } finally {
      await input.release();
    }
    const order = `${String(MAX_ORDER - Date.now()).padStart(13, '0')}-${created.id}`;
    const keys = this.keys(caller.scope);
    await this.store.put(`${keys.ids}${created.id}.json`, JSON.stringify({ order, input_file_id: inputFileId } satisfies Marker));
    await this.store.put(`${keys.order}${order}`, created.id);
    return view(created, inputFileId);
  }

  async retrieve(caller: Caller, batchId: string): Promise<Batch> {
    const { batch, marker } = await this.owned(caller, batchId);
    return view(batch, marker.input_file_id);
  }

  async cancel(caller: Caller, batchId: string): Promise<Batch> {
    const { marker } = await this.owned(caller, batchId);
    return view(await cancelBatch(this.provider, batchId, this.client), marker.input_file_id);
  }

  /**
   * The caller's batches, newest first, after the batch `after`: markers listed from the cursor on, each batch read,
   * until the page is full and one more exists (`has_more`). A batch deleted meanwhile (`anybatch delete`) is skipped
   * and the page reads on, so a page is never short (or empty) while more batches follow.
   */
  async list(caller: Caller, after: string | null, limit: number): Promise<{ object: 'list'; data: Batch[]; first_id: string | null; last_id: string | null; has_more: boolean }> {
    const keys = this.keys(caller.scope);
    let startAfter: string | undefined;
    if (after !== null) {
      const marker = await this.marker(caller.scope, after);
      if (!marker) throw notFound(`No batch found with id '${after}'.`);
      startAfter = `${keys.order}${marker.order}`;
    }
    const data: Batch[] = [];
    let more = false;
    for await (const entry of this.store.list(keys.order, startAfter !== undefined ? { startAfter } : {})) {
      const id = entry.key.slice(entry.key.lastIndexOf('-') + 1);
      const batch = await this.retrieve(caller, id).catch((err: unknown) => {
        if (err instanceof Error && 'status' in err && (err as { status: number }).status === 404) return null;
        throw err;
      });
      if (batch === null) continue; // deleted (anybatch delete): not listed, and the page reads on
      if (data.length === limit) {
        more = true;
        break;
      }
      data.push(batch);
    }
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: more };
  }

  /** A results file of one of the caller's batches: its file object and content, or null for another id. */
  async resultFile(caller: Caller, fileId: string): Promise<{ file: Record<string, unknown>; open(): Promise<NodeJS.ReadableStream> } | null> {
    const m = RESULT_FILE.exec(fileId);
    if (!m) return null;
    const { batch } = await this.owned(caller, m[1]).catch((err: unknown) => {
      if (err instanceof Error && (err as { status?: number }).status === 404) return { batch: null };
      throw err;
    });
    if (!batch?.anybatch.results) return null;
    const which = m[2] === 'output' ? 'output' : 'errors';
    const bytes = await this.resultBytes(batch, which);
    return {
      file: { id: fileId, object: 'file', bytes, created_at: batch.completed_at ?? batch.failed_at ?? batch.cancelled_at ?? batch.expired_at ?? batch.created_at, filename: `${which === 'output' ? 'output' : 'errors'}.jsonl`, purpose: 'batch_output', status: 'processed', status_details: null, expires_at: null },
      open: async () => (await openResultFile(batch, which)).stream,
    };
  }

  private async resultBytes(batch: AnybatchBatch, which: 'output' | 'errors'): Promise<number> {
    const uri = which === 'output' ? batch.anybatch.results?.output_uri : batch.anybatch.results?.errors_uri;
    const root = this.store.rootUri();
    if (uri?.startsWith(root)) {
      const rest = uri.slice(root.length);
      const info = await this.store.head(uri.startsWith('file:') ? decodeURIComponent(rest) : rest).catch(() => null);
      if (info) return info.size;
    }
    return 0;
  }
}

/** OpenAI's batch object of an anybatch batch: its own fields, the gateway's file ids, and the provider's batches. */
export function view(batch: AnybatchBatch, inputFileId: string): Batch {
  const { anybatch, ...openai } = batch;
  const results = anybatch.results;
  return {
    ...openai,
    input_file_id: inputFileId,
    ...(results && results.output_count > 0 ? { output_file_id: `file-${batch.id}-output` } : {}),
    ...(results && results.errors_count > 0 ? { error_file_id: `file-${batch.id}-errors` } : {}),
    anybatch: { provider: anybatch.provider, provider_batches: anybatch.provider_batches.map((b) => ({ id: b.id, status: b.status, ...(b.request_counts ? { request_counts: b.request_counts } : {}) })) },
  } as Batch;
}
