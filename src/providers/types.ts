/**
 * The interface every provider adapter implements. The workflow never sees it: activities call it.
 * Batches come back in OpenAI's `Batch` shape whatever the provider speaks.
 */
import type { ProviderCapabilities } from './capabilities';
import type { BatchSpec, PartPlan } from '../contract/spec';
import type { Batch, ResultLine } from '../contract/batch';
import type { OnlineHost } from '../online/host';
import type { PreparedInput } from '../contract/prepared';

export type { PreparedInput, ResultLine };
export { PREPARED_INLINE, preparedFile, preparedFileId } from '../contract/prepared';

/** How to reach a provider. Resolved in the worker only: never stored in workflow history in plain text. */
export interface ProviderConnection {
  apiKey?: string;
  apiBase?: string;
  /** Passed to the provider SDK's client constructor (timeouts, headers, ...). */
  clientArgs?: Record<string, unknown>;
  /** The batch's provider options (`createBatch`'s own options of the provider), for those that shape the client. */
  options?: Record<string, unknown>;
  /** Where an adapter writes what the worker's log should show (the activity's logger); absent outside a worker. */
  log?: ProviderLog;
  /** Runs online batches on the worker (openai-compatible); given by the activities, absent elsewhere. */
  online?: OnlineHost;
}

/** The log an adapter may write to (src/providers never imports Temporal: the activities pass theirs). */
export interface ProviderLog {
  warn(message: string, attrs?: Record<string, unknown>): void;
}

/** The input of one provider batch, staged on the worker's disk. */
export interface ProviderInput {
  /**
   * Path of the JSONL file (OpenAI batch format, already validated), or, with `read`, the URI of the stored object
   * the part is in. Read it with `partChunks` / `partUpload` (src/providers/part-input.ts), never directly.
   */
  path: string;
  /** Set when the part is in a remote store: its bytes, streamed from there on each call (length checked). */
  read?: () => AsyncIterable<Buffer>;
  /**
   * Set when the part is `bytes` bytes of `path` from this offset (a part planned as a byte range of the staged
   * input, read in place); absent when the file is the part.
   */
  offset?: number;
  /** The name the part's file goes by at the provider (default: the base name of `path`). */
  name?: string;
  /** Requests in the part. */
  requestCount: number;
  /** Bytes of the part. */
  bytes: number;
  /**
   * A key unique to this anybatch batch and part (`<batch id>/<part>`). Adapters record it with what they
   * create at the provider, so that a retry finds the earlier upload or batch instead of making another.
   */
  idempotencyKey: string;
  /** Only uploads and batches created at or after this time (unix seconds) are searched for the key. */
  notBefore: number;
  /** The batch's endpoint, e.g. `/v1/chat/completions`. */
  endpoint: string;
  /** Provider-specific options given to `createBatch`. */
  options: Record<string, unknown>;
  /** A folder of the worker's where the adapter may keep files for this part (translations, id maps, markers). */
  workDir: string;
  /**
   * Makes the work folder's files durable in the batch's store now (with an S3 store the folder is otherwise
   * synced as it changes and after the call). Await it between writing a create marker and sending the request
   * the marker guards, so that a worker dying in between leaves the marker where the next host looks.
   */
  persist?(): Promise<void>;
  /** The anybatch batch and part, for adapters that run the part themselves (openai-compatible's online batches). */
  origin?: { spec: BatchSpec; part: PartPlan };
}


/** The uploaded file's id of `prepared`; any other reference is an `invalid_request` naming the provider. */
export function requirePreparedFile(prepared: PreparedInput, label: string, what = 'batches'): string {
  if (prepared.kind === 'file') return prepared.fileId;
  throw new ProviderError('invalid_request', `${label} ${what} need an uploaded input file (got a reference of kind "${prepared.kind}").`);
}

export interface CreateProviderBatch {
  input: ProviderInput;
  prepared: PreparedInput;
  endpoint: string;
  completionWindow: string;
  metadata: Record<string, string> | null;
}


/** What a provider makes of one request body before anything is sent (see `ProviderAdapter.checkRequest`). */
export interface RequestCheck {
  problems: { field?: string; message: string }[];
  warnings: string[];
}

export interface ProviderAdapter {
  readonly capabilities: ProviderCapabilities;
  /** Bytes one staged request line costs at the provider, when it differs from the line (e.g. after translation). */
  sentBytes?(line: Buffer, endpoint: string, options: Record<string, unknown>): number;
  /** Checks one request body at validation time (e.g. that it translates to the provider's format). */
  checkRequest?(payload: Record<string, unknown>, endpoint: string, options: Record<string, unknown>): RequestCheck;
  /** Makes the input available to the provider (uploads it), reusing an earlier upload with the same key. */
  prepareInput(conn: ProviderConnection, input: ProviderInput): Promise<PreparedInput>;
  /** Creates the provider batch, or returns the one an earlier attempt with the same key created. */
  createBatch(conn: ProviderConnection, request: CreateProviderBatch): Promise<Batch>;
  retrieveBatch(conn: ProviderConnection, providerBatchId: string): Promise<Batch>;
  cancelBatch(conn: ProviderConnection, providerBatchId: string): Promise<Batch>;
  /** Streams every result line the provider has for a terminal batch, in OpenAI's output format and ids. */
  readResults(conn: ProviderConnection, batch: Batch, input: ProviderInput): AsyncIterable<ResultLine>;
}

/**
 * How a provider call failed, so activities can choose between retrying and failing at once.
 * Retried (with backoff, up to the batch's retry bound): `transient` (5xx, 408, 409, a reset connection),
 * `rate_limited` (429, honouring retry-after), `unreachable` (no answer: connection refused, timed out, DNS
 * temporarily failing). Permanent (the step fails at once): `auth` (401: key refused or missing),
 * `permission` (403), `not_found` (404, e.g. an unknown model or batch), `invalid_request` (other 4xx),
 * `bad_endpoint` (the base URL cannot work: unknown host, TLS certificate refused, not an API).
 */
export type ProviderErrorKind = 'transient' | 'rate_limited' | 'unreachable' | 'auth' | 'permission' | 'invalid_request' | 'not_found' | 'bad_endpoint';

/** Kinds that a retry may cure. */
export const RETRYABLE_PROVIDER_ERRORS: readonly ProviderErrorKind[] = ['transient', 'rate_limited', 'unreachable'];

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly status: number | null;
  /** For `rate_limited`: how long the provider asked us to wait. */
  readonly retryAfterMs: number | null;
  /** The URL (or host) involved, when known; never holds a secret (no query string). */
  readonly url: string | null;
  constructor(
    kind: ProviderErrorKind,
    message: string,
    opts: { status?: number | null; retryAfterMs?: number | null; url?: string | null; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'ProviderError';
    this.kind = kind;
    this.status = opts.status ?? null;
    this.retryAfterMs = opts.retryAfterMs ?? null;
    this.url = opts.url ?? null;
  }

  get retryable(): boolean {
    return RETRYABLE_PROVIDER_ERRORS.includes(this.kind);
  }
}
