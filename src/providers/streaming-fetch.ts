/**
 * The `fetch` the provider SDKs are given: requests go over node:http(s), and request bodies are streamed with
 * backpressure. Node's built-in fetch reads a streamed or file-backed request body as fast as the disk gives it,
 * whatever the socket takes, so a 190 MB upload sat in the worker's memory in full (measured: 250 MB RSS for
 * the upload alone; 94 MB with this fetch). Multipart bodies (file uploads) are encoded here with an exact
 * Content-Length, reading each file part lazily.
 *
 * A request that gets no HTTP answer rejects with a `FetchFailure`: method, URL (origin and path, never the
 * query string) and the Node error code (ECONNREFUSED, ENOTFOUND, DEPTH_ZERO_SELF_SIGNED_CERT, ...). The SDKs
 * wrap it as `APIConnectionError` with the `FetchFailure` as `cause`. Connecting (TCP and, for https, the TLS
 * handshake) is bounded (30 s by default, code ETIMEDOUT); the wait for the answer is bounded by the SDK's
 * `timeout` client arg (10 minutes by default), which the SDKs pass as an abort signal, as is the standard
 * `AbortError` on abort. An error of the request body itself (a file that cannot be read) rejects unchanged.
 */
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import type { LookupFunction, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const CRLF = '\r\n';
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** Escapes a multipart header value the way browsers do (WHATWG HTML, form-data encoding). */
function escapeName(value: string): string {
  return value.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}

interface EncodedBody {
  stream: Readable;
  length: number | null;
  contentType: string | null;
}

/** multipart/form-data with a known length: strings and files (read lazily from their Blob). */
function encodeForm(form: FormData): EncodedBody {
  const boundary = `----anybatch${crypto.randomBytes(12).toString('hex')}`;
  const pieces: (Buffer | Blob)[] = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') {
      pieces.push(Buffer.from(`--${boundary}${CRLF}Content-Disposition: form-data; name="${escapeName(name)}"${CRLF}${CRLF}${value.replace(/\r(?!\n)|(?<!\r)\n/g, CRLF)}${CRLF}`));
    } else {
      const type = value.type || 'application/octet-stream';
      pieces.push(Buffer.from(`--${boundary}${CRLF}Content-Disposition: form-data; name="${escapeName(name)}"; filename="${escapeName(value.name)}"${CRLF}Content-Type: ${type}${CRLF}${CRLF}`));
      pieces.push(value);
      pieces.push(Buffer.from(CRLF));
    }
  }
  pieces.push(Buffer.from(`--${boundary}--${CRLF}`));
  const length = pieces.reduce((n, p) => n + (Buffer.isBuffer(p) ? p.length : p.size), 0);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (const piece of pieces) {
      if (Buffer.isBuffer(piece)) yield piece;
      else for await (const chunk of piece.stream() as unknown as AsyncIterable<Uint8Array>) yield chunk;
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false }), length, contentType: `multipart/form-data; boundary=${boundary}` };
}

function encodeBody(body: unknown): EncodedBody | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body instanceof ArrayBuffer ? new Uint8Array(body) : body);
    return { stream: Readable.from([bytes]), length: bytes.length, contentType: typeof body === 'string' ? 'text/plain;charset=UTF-8' : null };
  }
  if (body instanceof URLSearchParams) {
    const bytes = Buffer.from(body.toString());
    return { stream: Readable.from([bytes]), length: bytes.length, contentType: 'application/x-www-form-urlencoded;charset=UTF-8' };
  }
  if (body instanceof FormData) return encodeForm(body);
  if (body instanceof Blob) {
    return { stream: Readable.from(body.stream() as unknown as AsyncIterable<Uint8Array>), length: body.size, contentType: body.type || null };
  }
  if (body instanceof ReadableStream) return { stream: Readable.fromWeb(body as import('node:stream/web').ReadableStream), length: null, contentType: null };
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    return { stream: Readable.from(body as AsyncIterable<Uint8Array>), length: null, contentType: null };
  }
  throw new TypeError(`streamingFetch: unsupported request body (${Object.prototype.toString.call(body)})`);
}

function responseHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(key, v);
  }
  return headers;
}

/** The URL without its query string, fragment or credentials (those may hold secrets): origin and path. */
export function safeUrl(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return u.protocol === 'http:' || u.protocol === 'https:' ? `${u.origin}${u.pathname}` : `${u.protocol}…`;
  } catch {
    return '(invalid URL)';
  }
}

/** The Node error code of a network error (an AggregateError from trying several addresses takes its first). */
function errorCode(err: unknown): string | null {
  const e = err as { code?: unknown; errors?: unknown[] } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e && Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  return null;
}

/** A request that failed without an HTTP answer. Its message and fields hold no secret. */
export class FetchFailure extends Error {
  /** Node's error code (ECONNREFUSED, ECONNRESET, ENOTFOUND, CERT_HAS_EXPIRED, EPROTO, ...), or `UNKNOWN`. */
  readonly code: string;
  readonly method: string;
  /** Origin and path of the request (no query string). */
  readonly url: string;
  /** The host name (or IP) the request went to. */
  readonly host: string;
  /** Set when the connect bound expired (code ETIMEDOUT). */
  readonly connectTimeoutMs: number | null;
  constructor(method: string, url: URL, cause: unknown, connectTimeoutMs: number | null = null) {
    const causeMessage = typeof (cause as Error | null)?.message === 'string' ? (cause as Error).message : String(cause);
    super(`${method} ${safeUrl(url)}: ${causeMessage.split('\n')[0]}`, { cause });
    this.name = 'FetchFailure';
    this.code = errorCode(cause) ?? 'UNKNOWN';
    this.method = method;
    this.url = safeUrl(url);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.connectTimeoutMs = connectTimeoutMs;
  }
}

export interface StreamingFetchOptions {
  /** Bound on connecting: TCP connect and, for https, the TLS handshake (default 30 s). */
  connectTimeoutMs?: number;
  /** Host name resolution in node:net's `lookup` form (default: the system resolver). */
  lookup?: LookupFunction;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A WHATWG `fetch` over node:http(s) for http and https URLs (anything else goes to the global fetch). */
export function createStreamingFetch(options: StreamingFetchOptions = {}): FetchFunction {
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return async function streamingFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    if (input instanceof Request) return fetch(input, init);
    const url = new URL(String(input));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return fetch(url, init);
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    const body = encodeBody(init.body);
    if (body?.contentType && !headers.has('content-type')) headers.set('content-type', body.contentType);
    if (body?.length != null) headers.set('content-length', String(body.length));
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();

    return new Promise<Response>((resolve, reject) => {
      const transport = url.protocol === 'https:' ? https : http;
      const req = transport.request(url, { method, headers: Object.fromEntries(headers), signal, ...(options.lookup ? { lookup: options.lookup } : {}) });
      let bodyError: unknown = null;
      let connectTimer: NodeJS.Timeout | null = null;
      let timedOut = false;
      const clearConnectTimer = (): void => {
        if (connectTimer) clearTimeout(connectTimer);
        connectTimer = null;
      };
      req.once('socket', (socket: Socket) => {
        if (!socket.connecting) return; // a kept-alive socket, connected long ago
        connectTimer = setTimeout(() => {
          timedOut = true;
          const err = Object.assign(new Error(`no connection to ${url.host} within ${connectTimeoutMs} ms`), { code: 'ETIMEDOUT' });
          req.destroy(err);
        }, connectTimeoutMs);
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', clearConnectTimer);
      });
      req.once('close', clearConnectTimer);
      req.once('error', (err: Error) => {
        clearConnectTimer();
        // A body that failed to read makes pipeline abort the request ("socket hang up"): its error is the cause.
        if (bodyError) reject(bodyError);
        else if (err.name === 'AbortError') reject(err);
        else reject(new FetchFailure(method, url, err, timedOut ? connectTimeoutMs : null));
      });
      req.once('response', (res) => {
        clearConnectTimer();
        const status = res.statusCode ?? 0;
        const empty = method === 'HEAD' || NULL_BODY_STATUSES.has(status);
        if (empty) res.resume();
        const stream = empty ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
        resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: responseHeaders(res.headers) }));
      });
      if (body) {
        // Listening before pipeline does, so an error of the body itself is known before req reports its abort.
        body.stream.once('error', (err) => (bodyError = err));
        pipeline(body.stream, req).catch((err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))));
      } else req.end();
    });
  };
}

/** The streaming fetch with the default bounds. */
export const streamingFetch: FetchFunction = createStreamingFetch();
