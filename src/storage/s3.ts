/**
 * S3-compatible object storage (AWS S3, GCS through its S3 interoperability, R2, MinIO, versitygw, ...)
 * through `@aws-sdk/client-s3` and `@aws-sdk/lib-storage`.
 *
 * - Puts stream through lib-storage's `Upload`: a body of at most one part becomes one PutObject; a larger
 *   one a multipart upload of `partSize` parts, `queueSize` at a time (memory ~ partSize x queueSize,
 *   whatever the size). A multipart object is visible only once completed; a body that fails (or an
 *   aborted signal) aborts the upload, so nothing partial is ever left as an object, and a put that fails or is
 *   given up for any reason aborts its multipart upload (`abortUpload`), so no parts are left either (a bucket
 *   lifecycle rule for incomplete multipart uploads is the backstop when even that abort cannot reach the store).
 * - Conditional create sends `If-None-Match: *` on PutObject and CompleteMultipartUpload (412 ->
 *   `BlobExistsError`). Backends that do not honour it (GCS conditions writes on generations instead)
 *   use `conditionalCreate: 'head-check'`: a HeadObject before the write. That is not atomic against a
 *   concurrent writer of the same key; anybatch's keys are deterministic and its writes idempotent, so
 *   the check is a guard, not what correctness rests on.
 * - Errors are recast with the endpoint host, bucket and key (never credentials): unreachable endpoint,
 *   missing bucket, refused credentials, missing credentials.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BlobExistsError, BlobNotFoundError, InvalidKeyError, StorageError } from './errors';
import { MAX_KEY_BYTES, validateKey, validatePrefix } from './keys';
import { checkRange } from './range';
import type { BlobBody, BlobInfo, BlobStore, ByteRange, ListEntry, ListOptions, PutOptions, PutResult } from './types';

export type ChecksumMode = 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
export type ConditionalCreateMode = 'if-none-match' | 'head-check';

export interface S3StoreConfig {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing `/` (`''` for the bucket root). */
  prefix?: string;
  /** A custom endpoint URL (`http://127.0.0.1:7070`); unset for AWS S3. */
  endpoint?: string;
  /** Default: us-east-1 with a custom endpoint, else the SDK's (AWS_REGION, profile). */
  region?: string;
  /** Path-style URLs (`host/bucket/key`). Default: on with a custom endpoint, off for AWS. */
  forcePathStyle?: boolean;
  /**
   * Request checksum calculation and response validation. Default: WHEN_REQUIRED with a custom endpoint
   * (GCS answers 412 to the default CRC32 of multipart uploads; others reject aws-chunked bodies),
   * else the SDK's default (WHEN_SUPPORTED, or AWS_REQUEST_CHECKSUM_CALCULATION).
   */
  checksumMode?: ChecksumMode;
  /** Static credentials; default: the SDK's default chain (env, profile, SSO, container, IMDS). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size in bytes (>= 5 MiB; default 8 MiB). */
  partSize?: number;
  /** Parts in flight per put (default 4). */
  queueSize?: number;
  /** Keys per ListObjectsV2 page (default 1000). */
  pageSize?: number;
  /** Default: 'if-none-match', or 'head-check' for storage.googleapis.com. */
  conditionalCreate?: ConditionalCreateMode;
  /** TCP connect timeout (default 5 s), so an unreachable endpoint fails fast. */
  connectTimeoutMs?: number;
  /** SDK attempts per request (default 3). */
  maxAttempts?: number;
}

const MiB = 1024 * 1024;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);
// XAdminUserNotFound: versitygw's answer (404) to an unknown access key.
const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'XAdminUserNotFound', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'InvalidToken', 'ExpiredToken', 'RequestTimeTooSkewed', 'InvalidSecurity', 'AccountProblem']);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
  cause?: unknown;
}

function sdkErr(err: unknown): SdkError {
  return (err && typeof err === 'object' ? err : {}) as SdkError;
}

function status(err: unknown): number | undefined {
  return sdkErr(err).$metadata?.httpStatusCode;
}

/**
 * The network error code of an SDK failure (ECONNREFUSED, ...), looking through `cause`s and, last, the
 * message: an error from another realm (a vm context, as under jest) reaches us only as
 * "AWS SDK error wrapper for Error: connect ECONNREFUSED ...", without its `code`.
 */
function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = sdkErr(e).cause, depth++) {
    const c = sdkErr(e).code;
    if (c && NETWORK_CODES.has(c)) return c;
    if (sdkErr(e).name === 'TimeoutError') return 'timeout';
    const inMessage = /\b(E[A-Z]{4,})\b/.exec(sdkErr(e).message ?? '')?.[1];
    if (inMessage && NETWORK_CODES.has(inMessage)) return inMessage;
  }
  return undefined;
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  /** `host[:port]` of the endpoint, for messages. */
  readonly host: string;
  private readonly base: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly pageSize: number;
  private readonly conditional: ConditionalCreateMode;
  private readonly region: string | undefined;
  private bucketSeen = false;

  constructor(config: S3StoreConfig) {
    if (!config.bucket) throw new StorageError('storage_config', 'S3 store: no bucket given.');
    this.bucket = config.bucket;
    this.prefix = (config.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (this.prefix) validateKey(this.prefix);
    this.base = this.prefix ? `${this.prefix}/` : '';
    this.partSize = config.partSize ?? 8 * MiB;
    this.queueSize = config.queueSize ?? 4;
    this.pageSize = config.pageSize ?? 1000;
    if (this.partSize < 5 * MiB) throw new StorageError('storage_config', `S3 store: partSize must be at least 5 MiB (got ${this.partSize} bytes).`);
    let endpointHost: string | null = null;
    if (config.endpoint) {
      try {
        endpointHost = new URL(config.endpoint).host;
      } catch {
        throw new StorageError('storage_config', `S3 store: endpoint ${JSON.stringify(config.endpoint)} is not a URL (e.g. http://127.0.0.1:7070).`);
      }
    }
    const region = config.region ?? (config.endpoint ? 'us-east-1' : undefined);
    this.region = region ?? process.env.AWS_REGION;
    this.host = endpointHost ?? `s3.${region ?? process.env.AWS_REGION ?? '<region>'}.amazonaws.com`;
    this.conditional = config.conditionalCreate ?? (/(^|\.)storage\.googleapis\.com$/i.test(endpointHost ?? '') ? 'head-check' : 'if-none-match');
    const checksumMode = config.checksumMode ?? (config.endpoint ? 'WHEN_REQUIRED' : undefined);
    // anybatch pins an exact SDK version; its warning is about later versions needing Node 22.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const clientConfig: S3ClientConfig = {
      region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle ?? Boolean(config.endpoint),
      credentials: config.credentials,
      maxAttempts: config.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: config.connectTimeoutMs ?? 5000 },
    };
    if (checksumMode) {
      clientConfig.requestChecksumCalculation = checksumMode;
      clientConfig.responseChecksumValidation = checksumMode;
    }
    this.client = new S3Client(clientConfig);
  }

  private fullKey(key: string): string {
    validateKey(key);
    const full = this.base + key;
    if (Buffer.byteLength(full) > MAX_KEY_BYTES) throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes with the store prefix "${this.base}"`);
    return full;
  }

  uri(key: string): string {
    return `s3://${this.bucket}/${this.fullKey(key)}`;
  }

  /** Objects of a bucket are not files of this host (the key is still checked, as everywhere). */
  localFile(key: string): null {
    validateKey(key);
    return null;
  }

  /** A prefix is only a part of keys: once its objects are deleted, nothing is left of it (the prefix is still checked). */
  async removeFolder(prefix: string): Promise<void> {
    validatePrefix(prefix);
  }

  rootUri(): string {
    return `s3://${this.bucket}/${this.prefix ? `${this.prefix}/` : ''}`;
  }

  describe(): string {
    return `S3 bucket "${this.bucket}"${this.prefix ? ` (prefix ${this.prefix}/)` : ''} at ${this.host}`;
  }

  /** The SDK error `err` of `op` (on `key`) as a clear error; passes our own errors through. */
  private recast(err: unknown, op: string, key?: string): Error {
    if (err instanceof StorageError || err instanceof BlobNotFoundError || err instanceof BlobExistsError || err instanceof InvalidKeyError) return err;
    const e = sdkErr(err);
    const name = e.name ?? '';
    const where = `bucket "${this.bucket}"${key !== undefined ? `, key ${this.base}${key}` : ''}`;
    const net = networkCode(err);
    if (net) {
      return new StorageError(
        'storage_unreachable',
        `Cannot reach the S3 endpoint ${this.host} (${net}) to ${op} (${where}). Check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and that the server is running.`,
        { cause: err },
      );
    }
    if (name === 'NoSuchBucket') {
      return new StorageError('storage_bucket_missing', `The S3 bucket "${this.bucket}" does not exist at ${this.host} (${op}${key !== undefined ? ` ${this.base}${key}` : ''}). Create it, or fix the bucket in ANYBATCH_STORAGE.`, { cause: err });
    }
    if (CREDENTIAL_ERRORS.has(name) || status(err) === 403) {
      const denied = name === 'AccessDenied' || name === 'Forbidden';
      const known = CREDENTIAL_ERRORS.has(name) && !denied;
      // A HEAD answer has no body, so a 403 there does not say which.
      const what = known ? 'refused the credentials' : denied ? 'denied access' : 'refused the credentials or denied access';
      return new StorageError(
        'storage_access_denied',
        `The S3 endpoint ${this.host} ${what} (${known || denied ? name : 'HTTP 403'}) to ${op} (${where}). Check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and their permissions on the bucket.`,
        { cause: err },
      );
    }
    if (name === 'CredentialsProviderError') {
      return new StorageError('storage_credentials_missing', `No AWS credentials found for the ${this.describe()}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE.`, { cause: err });
    }
    if (/region is missing/i.test(e.message ?? '')) {
      return new StorageError('storage_config', `No AWS region for the ${this.describe()}: set AWS_REGION.`, { cause: err });
    }
    if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status(err) === 301) {
      return new StorageError('storage_config', `The S3 bucket "${this.bucket}" is not in the configured region (${this.region ?? 'none'}) at ${this.host} (${name || 'HTTP 301'}): set AWS_REGION to the bucket's region.`, { cause: err });
    }
    const detail = name && name !== 'Error' ? `${name}${e.message && e.message !== name ? `: ${e.message}` : ''}` : (e.message ?? String(err));
    return new StorageError('storage_error', `S3 ${op} failed at ${this.host} (${where}): ${detail}${status(err) ? ` (HTTP ${status(err)})` : ''}`, { cause: err });
  }

  /**
   * HeadBucket: the endpoint answers, the bucket exists and the credentials may use it. A HEAD answer has
   * no body, so a failed one (404 is also versitygw's answer to an unknown access key) is asked again
   * with a one-key ListObjectsV2, whose error code says what is wrong.
   */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      this.bucketSeen = true;
      return;
    } catch (err) {
      if (status(err) !== 404 && status(err) !== 403) throw this.recast(err, 'check the bucket');
      try {
        await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1, Prefix: this.base }));
      } catch (err2) {
        if (sdkErr(err2).name === 'NoSuchBucket' || (status(err2) === 404 && !CREDENTIAL_ERRORS.has(sdkErr(err2).name ?? ''))) {
          throw new StorageError('storage_bucket_missing', `The S3 bucket "${this.bucket}" does not exist at ${this.host}. Create it, or fix the bucket in ANYBATCH_STORAGE.`, { cause: err2 });
        }
        throw this.recast(err2, 'check the bucket');
      }
      throw this.recast(err, 'check the bucket');
    }
  }

  /**
   * `check`, and CreateBucket when it says the bucket is missing (`anybatch storage init`, the compose
   * stack's one-shot). A bucket created meanwhile by someone else with these credentials counts as there.
   */
  async ensure(): Promise<'created' | 'exists'> {
    try {
      await this.check();
      return 'exists';
    } catch (err) {
      if (!(err instanceof StorageError) || err.code !== 'storage_bucket_missing') throw err;
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const name = sdkErr(err).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw this.recast(err, 'create the bucket');
      if (name === 'BucketAlreadyExists') {
        await this.check(); // someone else's bucket of that name: the check says whether we may use it
        return 'exists';
      }
    }
    await this.check();
    return 'created';
  }

  async put(key: string, body: BlobBody, opts: PutOptions = {}): Promise<PutResult> {
    const Key = this.fullKey(key);
    opts.signal?.throwIfAborted();
    let size = 0;
    let bodyError: unknown;
    let Body: Buffer | Readable;
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      Body = typeof body === 'string' ? Buffer.from(body) : body;
      size = Body.byteLength;
    } else {
      const source = body;
      Body = Readable.from(
        (async function* () {
          const it = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
          try {
            for (;;) {
              let next: IteratorResult<unknown>;
              try {
                next = await it.next();
              } catch (err) {
                bodyError = err; // the body's own failure (not our teardown, which arrives at the yield)
                throw err;
              }
              if (next.done) return;
              const buf = typeof next.value === 'string' ? Buffer.from(next.value) : (next.value as Buffer);
              size += buf.byteLength;
              yield buf;
            }
          } finally {
            await it.return?.();
          }
        })(),
        { objectMode: false },
      );
    }
    const destroyBody = () => {
      if (body instanceof Readable && !body.destroyed) body.destroy();
      if (Body instanceof Readable && !Body.destroyed) Body.destroy();
    };
    let upload: Upload | undefined;
    let completed = false;
    try {
      if (opts.ifNoneMatch && this.conditional === 'head-check' && (await this.head(key))) throw new BlobExistsError(key, this.uri(key));
      upload = new Upload({
        client: this.client,
        partSize: this.partSize,
        queueSize: this.queueSize,
        params: {
          Bucket: this.bucket,
          Key,
          Body,
          ContentType: opts.contentType,
          ...(opts.ifNoneMatch && this.conditional === 'if-none-match' ? { IfNoneMatch: '*' } : {}),
        },
      });
      // On abort, fail the body: the upload then aborts its multipart upload before `done()` settles. Should
      // a part upload hang, the Upload itself is aborted after a grace period.
      let graceTimer: NodeJS.Timeout | undefined;
      const started = upload;
      const onAbort = () => {
        if (!(body instanceof Readable)) return void started.abort();
        body.destroy(opts.signal!.reason);
        graceTimer = setTimeout(() => void started.abort(), 5000);
        graceTimer.unref();
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const out = await upload.done();
        completed = true;
        return { size, etag: out.ETag };
      } finally {
        clearTimeout(graceTimer);
        opts.signal?.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      const sourceError = bodyError; // before destroying the body, which fails its iteration too
      destroyBody();
      if (upload && !completed) await this.abortUpload(Key, upload);
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (sourceError !== undefined) throw sourceError; // the body's own failure (the upload was aborted)
      if (status(err) === 412 || sdkErr(err).name === 'PreconditionFailed') throw new BlobExistsError(key, this.uri(key), { cause: err });
      throw this.recast(err, 'write', key);
    }
  }

  /**
   * Aborts the multipart upload a failed put started, whatever its state: lib-storage aborts it itself when a part or
   * the completion fails, but not when the put is given up while a part upload hangs (it waits for that part first),
   * so its parts would stay, billed and invisible, until a lifecycle rule removes them. An upload already aborted or
   * completed is gone (NoSuchUpload): fine. Best effort: the put's own error is the one reported; the bucket's
   * lifecycle rule for incomplete multipart uploads (README, Storage) is the backstop.
   */
  private async abortUpload(Key: string, upload: Upload): Promise<void> {
    const UploadId = upload.uploadId;
    if (!UploadId) return;
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }));
    } catch {
      // NoSuchUpload (aborted meanwhile), or the store unreachable: the lifecycle rule removes what is left
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const Key = this.fullKey(key);
    if (range) checkRange(range);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key, Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined }),
      );
      this.bucketSeen = true;
      return out.Body as Readable;
    } catch (err) {
      const name = sdkErr(err).name ?? '';
      if (name === 'NoSuchKey' || (status(err) === 404 && name !== 'NoSuchBucket' && !CREDENTIAL_ERRORS.has(name))) {
        throw new BlobNotFoundError(key, this.uri(key), { cause: err });
      }
      // A range starting at or past the end of an existing object (or any range of an empty one).
      if (status(err) === 416 || name === 'InvalidRange') return Readable.from([]);
      throw this.recast(err, 'read', key);
    }
  }

  async head(key: string): Promise<BlobInfo | null> {
    const Key = this.fullKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      this.bucketSeen = true;
      return { size: out.ContentLength ?? 0, etag: out.ETag, modifiedAt: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (status(err) === 404 || sdkErr(err).name === 'NotFound' || sdkErr(err).name === 'NoSuchKey') {
        // A HEAD answer has no body: a missing bucket looks like a missing key. Tell them apart once.
        if (!this.bucketSeen) await this.check();
        return null;
      }
      throw this.recast(err, 'head', key);
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListEntry> {
    validatePrefix(prefix);
    let ContinuationToken: string | undefined;
    // S3 starts the listing after the cursor itself (StartAfter counts on the first page; the token carries it on).
    const StartAfter = opts.startAfter !== undefined ? this.base + opts.startAfter : undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.base + prefix, MaxKeys: this.pageSize, ContinuationToken, ...(ContinuationToken ? {} : { StartAfter }) }),
        );
        this.bucketSeen = true;
      } catch (err) {
        throw this.recast(err, 'list', prefix);
      }
      for (const obj of page.Contents ?? []) {
        if (!obj.Key || !obj.Key.startsWith(this.base)) continue;
        const key = obj.Key.slice(this.base.length);
        try {
          validateKey(key);
        } catch {
          continue; // folder markers ("a/") and keys no store key can name
        }
        yield { key, size: obj.Size ?? 0 };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(key: string): Promise<void> {
    const Key = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      if (sdkErr(err).name === 'NoSuchKey') return;
      throw this.recast(err, 'delete', key);
    }
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }
}
