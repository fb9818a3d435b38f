/**
 * The S3 a Bedrock job reads its input from and writes its outputs to, through `@aws-sdk/client-s3`, configured the
 * standard AWS way: `AWS_ENDPOINT_URL_S3` (else `AWS_ENDPOINT_URL`), `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`
 * (and `AWS_SESSION_TOKEN`), `AWS_REGION` (else `AWS_DEFAULT_REGION`); the sandbox's `s3` option overrides each.
 * A custom endpoint (MinIO, versitygw, LocalStack) is addressed path-style and sent checksums only where S3 requires
 * them, as src/storage/s3.ts does for the same servers.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { SandboxS3Options } from '../../kernel/settings';

export interface S3Location {
  bucket: string;
  key: string;
}

/** `s3://bucket/key...` (the key may be empty or a prefix); null for anything else. */
export function parseS3Uri(uri: string): S3Location | null {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  return match ? { bucket: match[1], key: match[2] ?? '' } : null;
}

export function s3UriOf(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}

/** A key read as a folder: '' or ending in '/'. */
export function folderKey(key: string): string {
  return key === '' || key.endsWith('/') ? key : `${key}/`;
}

/** The client settings: the option's fields first, then the environment's. */
export function s3ClientConfig(option: SandboxS3Options | null, env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = option?.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = option?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const fromEnv =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  const config: S3ClientConfig = {
    region,
    credentials: option?.credentials ?? fromEnv,
    // An unreachable S3 fails the job in seconds, not after the SDK's default retries.
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3000 },
  };
  if (endpoint) {
    config.endpoint = endpoint;
    config.forcePathStyle = true;
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  return config;
}

/** An S3 failure in a line: the SDK's error name (`NoSuchKey`, `NoSuchBucket`, `ECONNREFUSED`) and message. */
export function describeS3Error(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as Error & { code?: string }).code;
  const name = err.name !== 'Error' ? err.name : code ?? 'Error';
  return err.message && err.message !== name ? `${name}: ${err.message}` : name;
}

export class JobStorage {
  private client: S3Client | null = null;

  constructor(private readonly config: S3ClientConfig) {}

  /** Made on first use, so a sandbox that runs no Bedrock job never builds one. */
  private s3(): S3Client {
    // The sandbox pins an exact SDK version; its warning is about later versions needing Node 22.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client ??= new S3Client(this.config);
    return this.client;
  }

  /** The objects under `prefix` whose names end in `.jsonl`, in key order, with their sizes. */
  async listJsonl(bucket: string, prefix: string): Promise<Array<{ key: string; size: number }>> {
    const found: Array<{ key: string; size: number }> = [];
    let token: string | undefined;
    do {
      const page = await this.s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (object.Key?.endsWith('.jsonl')) found.push({ key: object.Key, size: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The lines of an object, streamed; `size` is known before the first line is read. */
  async openLines(bucket: string, key: string): Promise<{ size: number; lines: AsyncIterable<string>; close(): void }> {
    const object = await this.s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = object.Body;
    if (!(body instanceof Readable)) throw new Error(`S3 returned no readable body for s3://${bucket}/${key}.`);
    const lines = createInterface({ input: body, crlfDelay: Infinity });
    return {
      size: object.ContentLength ?? 0,
      lines,
      close: () => {
        lines.close();
        body.destroy();
      },
    };
  }

  async putFile(bucket: string, key: string, file: string): Promise<void> {
    const { size } = await fs.stat(file);
    await this.s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(file), ContentLength: size, ContentType: 'application/jsonl' }));
  }

  async putJson(bucket: string, key: string, value: unknown): Promise<void> {
    await this.s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }));
  }

  close(): void {
    this.client?.destroy();
    this.client = null;
  }
}
