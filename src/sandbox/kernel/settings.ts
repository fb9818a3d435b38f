/** The sandbox's settings and statistics: what `startSandbox` takes and what `stats()` reports. */
import type { ReceivedCredentials } from './auth';

export interface SandboxFaults {
  /** 0..1 probability per API request of a 429 (rate_limit_exceeded; Anthropic: rate_limit_error) with `retry-after` header. */
  rate429?: number;
  /** Value of retry-after on injected 429s (default 1). */
  retryAfterSeconds?: number;
  /** 0..1 probability of a 500 server_error. */
  rate500?: number;
  /** 0..1 probability of destroying the socket without a response. */
  rateDrop?: number;
  /** Added latency per request. */
  slowMs?: number;
  /** Every new batch fails validation (status 'failed', errors.data with code/line/message); every request of a new Anthropic batch is `errored`. */
  failValidation?: boolean;
  /** Batches expire this long after creation (default: the completion window, 24h; Groq's may be up to 7d). */
  expireAfterSeconds?: number;
  /** Batch creation (`POST .../batches`, `POST .../messages/batches`) registers the batch at once but delays the HTTP response. */
  createResponseDelayMs?: number;
  /**
   * The next this-many batch creates (whatever the provider: `POST .../batches`, `.../messages/batches`, Mistral's
   * `.../batch/jobs`, Gemini's `:batchGenerateContent`) are carried out, and then their answer is lost: the batch
   * exists, is listed and runs, but the client sees its connection reset (or, with `lostCreateStatus`, that error
   * status), as when a response is lost on the way back. Counts down with each lost answer; `setFaults` starts it again.
   */
  loseCreateResponses?: number;
  /** What a client sees instead of a lost create answer: this 5xx status in the provider's error shape; unset: a reset connection. */
  lostCreateStatus?: number;
  /** Throttle file content (`GET .../files/{id}/content`) and Message Batch results downloads. */
  downloadBytesPerSecond?: number;
  /** 0..1 probability that a file content or results download is cut off midway (socket destroyed after about half the bytes). */
  truncateDownloads?: number;
  /**
   * Every API request (any provider's path) answers with this status (400..599) and that provider's error shape,
   * before auth: OpenAI's `{"error":{"message","type","param":null,"code"}}` (401 `invalid_api_key`, 403
   * `permission_denied`, 404 `not_found`, 429 `rate_limit_exceeded` with retry-after, 5xx `server_error`), also
   * for Groq; Anthropic's and Azure's in their own shapes.
   */
  forceStatus?: number;
  /**
   * The models that exist (on Azure: the deployments). A new OpenAI-format batch (OpenAI, Groq, Azure) with a
   * request for another model fails validation the way OpenAI's does: status `failed`, `errors.data` of one
   * `model_not_found` error (param `body.model`, the line of the first such request). Requests without a model
   * are not checked. Unset: every name is accepted.
   */
  models?: string[];
  /**
   * 0..1 probability that one request of a batch ends as a 500 error line (OpenAI's batch error-file shape:
   * `response.status_code` 500, `body.error` of type `server_error`; Anthropic: an `errored` result with an
   * `api_error`; xAI: an INTERNAL error), drawn independently for every request of every batch, so a request
   * resubmitted in a new batch is drawn again. The batch's counts include these failures.
   */
  requestFaultRate?: number;
  /** PRNG seed for the rates above (deterministic). */
  seed?: number;
}

export interface SandboxOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Requests processed per second per batch once in_progress (default 50). */
  rate?: number;
  /** Time spent in 'validating' (default 300; OpenAI only, Message Batches start in_progress). */
  validationMs?: number;
  /** Time spent in 'finalizing' (default 200; OpenAI only). */
  finalizingMs?: number;
  /** Time spent in 'cancelling' / 'canceling' (default 300). */
  cancellingMs?: number;
  /**
   * Per-batch request limit (default from the catalog: 50,000 for OpenAI and Groq, 100,000 for Azure OpenAI, 100,000
   * for Anthropic, which uses it only when lower).
   */
  maxRequests?: number;
  /** Per-batch input bytes limit (default from the catalog: uploads 200 MB for OpenAI and Azure, 100 MB for Groq; Anthropic create bodies 256 MB). */
  maxBytes?: number;
  /** When set, only this key is accepted, read each provider's way (bearer; Anthropic's x-api-key; Azure's api-key); otherwise any non-empty key. */
  apiKey?: string;
  /**
   * OpenAI's enqueued token limit, per model (OpenAI, Groq, Azure OpenAI; each provider counts its own batches).
   * A new batch whose prompt tokens for a model, added to those of that model's batches still `validating`,
   * `in_progress` or `finalizing` when it was created, exceed this fails validation the way OpenAI's does:
   * status `failed`, `errors.data` of one `token_limit_exceeded` error ("Enqueued token limit reached for <model>
   * in organization org-sandbox. Limit: N enqueued tokens. ...", param and line null). A batch's tokens are its
   * requests' prompt tokens as the stand-in model counts them (`promptTokens` in `providers/openai/responder.ts`:
   * ceil(characters / 4) of the chat messages' text joined by newlines, of each embedding input, or of the whole
   * body for other endpoints), by each request's `body.model`; requests without a model are not counted. A batch
   * refused for the limit, or failed for any other reason, holds no tokens. Unset: no limit.
   */
  enqueuedTokenLimit?: number;
  /**
   * The bedrock module's "Minimum number of records per batch inference job" quota (default 100; AWS sets it per
   * model): a job with fewer records ends `Failed` at validation, its message stating the minimum.
   */
  bedrockMinRecords?: number;
  /**
   * The S3 the bedrock module reads job inputs from and writes outputs to. Each field unset here comes from the
   * standard AWS variables: `AWS_ENDPOINT_URL_S3` (else `AWS_ENDPOINT_URL`; a custom endpoint is addressed
   * path-style), `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` (else `AWS_DEFAULT_REGION`).
   */
  s3?: SandboxS3Options;
  /** Requests per minute of the online endpoints (`POST /v1/chat/completions`, `/v1/embeddings`); unset: no limit. */
  rpm?: number;
  /** Tokens per minute of the online endpoints (prompt tokens + max tokens); unset: no limit. */
  tpm?: number;
  faults?: SandboxFaults;
  /**
   * Cloud Storage buckets the `gcs` module holds from the start (default `['anybatch-sandbox']`), so a Vertex AI job
   * can name `gs://anybatch-sandbox/...` without a bucket insert first; more can be made through the JSON API.
   */
  gcsBuckets?: string[];
  /**
   * Send OpenAI's batch webhooks (`batch.completed`, `batch.failed`, `batch.cancelled`, `batch.expired`, signed the
   * Standard Webhooks way as OpenAI signs them) to `url` when an openai batch ends, with `secret` (`whsec_<base64>`).
   */
  webhook?: { url: string; secret: string };
  /**
   * Send Gemini's static webhook events (`batch.succeeded`, `batch.failed`, `batch.cancelled`, `batch.expired`, the
   * thin `{type, version, timestamp, data}` envelope signed the Standard Webhooks way) to `url` when a gemini batch
   * ends, with `secret` (`whsec_<base64>`, as Gemini's webhook create returns it).
   */
  geminiWebhook?: { url: string; secret: string };
  /** Where uploaded and generated files are stored (default: a fresh temp dir, removed on close). */
  dataDir?: string;
  /** Clock in ms (default Date.now); all state is derived from it lazily. */
  now?: () => number;
  /** Optional request log. */
  log?: (line: string) => void;
}

/** Where the bedrock module's S3 is; see `SandboxOptions.s3`. */
export interface SandboxS3Options {
  /** `http://127.0.0.1:7070` for a local S3 (MinIO, versitygw, LocalStack); unset: AWS's own. */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** What the online endpoints (`providers/online`) have done, for `SandboxStats.online`. */
export interface OnlineStats {
  /** Chat completions answered 200. */
  completions: number;
  /** Embeddings requests answered 200. */
  embeddings: number;
  /** Requests refused with a 429 for the RPM or TPM limit. */
  rateLimited: number;
  /** Successful answers to a request body that had been answered successfully before. */
  duplicates: number;
  /** Distinct request bodies answered successfully. */
  distinct: number;
}

/** What one provider module has done, for `SandboxStats.providers`. */
export interface ProviderStats {
  filesCreated: number;
  batchesCreated: number;
  /** Cancels accepted (a repeated cancel of a batch already cancelling is not counted). */
  batchCancels: number;
  /** Batches by status, in the provider's own status names. */
  batchesByStatus: Record<string, number>;
  /** An object store's holdings (the `gcs` module's; absent for the batch APIs). */
  storage?: StorageStats;
}

/** What an emulated object store holds now: buckets, objects and their bytes. */
export interface StorageStats {
  buckets: number;
  objects: number;
  bytes: number;
}

export interface SandboxStats {
  /** Files, batches and cancels of the OpenAI-format providers together (openai, groq, azureopenai). */
  filesCreated: number;
  batchesCreated: number;
  batchCancels: number;
  /** Anthropic Message Batches created and cancels accepted. */
  messageBatchesCreated: number;
  messageBatchCancels: number;
  /** API requests served (incl. faulted ones). */
  requests: number;
  /** Faults injected so far; `lostCreates`: create answers lost by `loseCreateResponses` (the batch made, the answer not sent). */
  faults: { rate429: number; rate500: number; drops: number; truncated: number; lostCreates: number };
  /** File content responses currently streaming (every provider). */
  contentDownloadsInFlight: number;
  /**
   * By provider module (`openai`, `anthropic`, ...), the credentials the last API request under its path carried, as
   * sent (`Authorization`, `x-api-key`, `api-key`, `x-goog-api-key`, `?key=`): which key reached the provider. A
   * request carrying none leaves it as it was; a module no such request reached is absent. Keys are held in the clear:
   * the sandbox is for keys that open nothing.
   */
  lastCredentials: Record<string, ReceivedCredentials>;
  /** OpenAI batches by status; the other providers' keyed `<provider>:<status>` (`anthropic:ended`, `groq:completed`). */
  batchesByStatus: Record<string, number>;
  /** The same, per provider module. */
  providers: Record<string, ProviderStats>;
  /** Chat completions the online endpoint answered (`online.completions`). */
  onlineCompletions: number;
  /** The online endpoints: answers, 429s and answers to a request body answered before (`providers/online`). */
  online: OnlineStats;
}
