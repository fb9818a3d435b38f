/**
 * The few Cloud Storage calls the Vertex path needs, over the JSON API v1 with the project's streaming fetch: a media
 * upload (streamed from the work folder), a listing by prefix, and a streamed `alt=media` download. Where:
 * STORAGE_EMULATOR_HOST when set (as Google's own libraries read it: the sandbox's `gcs` line), else
 * https://storage.googleapis.com. How: the headers the caller's auth gives (an API key or an OAuth bearer token).
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { classifyHttpFailure } from '../http-errors';
import { streamingFetch, type FetchFunction } from '../streaming-fetch';
import { ProviderError } from '../types';

export const STORAGE_EMULATOR_ENV = 'STORAGE_EMULATOR_HOST';
const GCS_DEFAULT = 'https://storage.googleapis.com';

/** The JSON API's base: the emulator's (a bare `host:port` is http) or Google's. */
export function gcsBase(env: NodeJS.ProcessEnv = process.env): string {
  const host = env[STORAGE_EMULATOR_ENV]?.trim();
  if (!host) return GCS_DEFAULT;
  return (/^https?:\/\//.test(host) ? host : `http://${host}`).replace(/\/+$/, '');
}

export interface GcsObject {
  name: string;
  size: number;
}

export class GcsClient {
  constructor(
    private readonly headers: () => Promise<Record<string, string>>,
    private readonly base = gcsBase(),
    private readonly fetch: FetchFunction = streamingFetch,
  ) {}

  private async send(what: string, url: string, init: RequestInit & { duplex?: 'half' }): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetch(url, { ...init, headers: { ...(await this.headers()), ...(init.headers as Record<string, string> | undefined) } });
    } catch (err) {
      throw new ProviderError('unreachable', `Cloud Storage ${what} got no answer (${url.split('?')[0]}): ${(err as Error).message}`, { cause: err, url: url.split('?')[0] });
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      let message = text.slice(0, 500);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        // Not JSON: the text as it is.
      }
      throw classifyHttpFailure(response.status, response.headers, `Cloud Storage ${what} failed (${url.split('?')[0]}): ${response.status} ${message}`, null, url.split('?')[0]);
    }
    return response;
  }

  /** The object's size, or null when there is none. */
  async size(bucket: string, name: string): Promise<number | null> {
    try {
      const response = await this.send('look up', `${this.base}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`, { method: 'GET' });
      return Number(((await response.json()) as { size?: string }).size ?? NaN);
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  /** Uploads `file` (`bytes` long) as `gs://bucket/name`, streamed. */
  async upload(bucket: string, name: string, file: string, bytes: number): Promise<void> {
    const url = `${this.base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=media&name=${encodeURIComponent(name)}`;
    const body = Readable.toWeb(fs.createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
    const response = await this.send('upload', url, { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/jsonl', 'content-length': String(bytes) } });
    await response.body?.cancel();
  }

  /** Every object under `prefix`, page by page. */
  async *list(bucket: string, prefix: string): AsyncGenerator<GcsObject> {
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ prefix, ...(token ? { pageToken: token } : {}) });
      const response = await this.send('list', `${this.base}/storage/v1/b/${encodeURIComponent(bucket)}/o?${query}`, { method: 'GET' });
      const page = (await response.json()) as { items?: Array<{ name?: string; size?: string }>; nextPageToken?: string };
      for (const item of page.items ?? []) if (typeof item.name === 'string') yield { name: item.name, size: Number(item.size ?? 0) };
      token = page.nextPageToken;
    } while (token);
  }

  /** The object's bytes as a stream, with its length when the server says it. */
  async download(bucket: string, name: string): Promise<{ stream: Readable; bytes: number | null }> {
    const response = await this.send('download', `${this.base}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}?alt=media`, { method: 'GET' });
    const length = Number(response.headers.get('content-length') ?? NaN);
    if (!response.body) return { stream: Readable.from([]), bytes: 0 };
    return { stream: Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), bytes: Number.isFinite(length) ? length : null };
  }
}
