/**
 * One Temporal client per process and address, opened on first use. Connecting fails within seconds with
 * `TemporalUnavailableError` (naming the address and how to change it) when Temporal cannot be reached. When the
 * OTEL_* variables turn traces on (src/temporal/tracing.ts), the clients opened here carry Temporal's OpenTelemetry
 * interceptor (a client passed in as `client` is used as given).
 */
import net from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { ConnectionOptions } from '@temporalio/client';
import { temporalSettings } from '../config';
import { TemporalUnavailableError } from '../errors';
import { clientTracingInterceptors, flushTracing } from './tracing';

export interface TemporalOptions {
  /** `host:port` of the Temporal frontend (default: TEMPORAL_ADDRESS, then 127.0.0.1:7233). */
  address?: string;
  namespace?: string;
  /** Use this client instead of opening one. */
  client?: Client;
  /** How long connecting may take, in ms (default: ANYBATCH_CONNECT_TIMEOUT, else 5 s). */
  connectTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** The connect timeout: `explicit`, else ANYBATCH_CONNECT_TIMEOUT (`5000`, `5000ms`, `5s`, `1m`), else 5 s. */
export function connectTimeoutMs(explicit?: number): number {
  if (explicit !== undefined && Number.isFinite(explicit) && explicit > 0) return explicit;
  const raw = process.env.ANYBATCH_CONNECT_TIMEOUT?.trim();
  const m = raw ? /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/i.exec(raw) : null;
  if (m) {
    const unit = (m[2] ?? 'ms').toLowerCase();
    const ms = Number(m[1]) * (unit === 'm' ? 60_000 : unit === 's' ? 1000 : 1);
    if (ms > 0) return ms;
  }
  return DEFAULT_CONNECT_TIMEOUT_MS;
}

const HINT =
  'Start one with `npx anybatch dev`, or point anybatch at yours with TEMPORAL_ADDRESS (CLI: --address; library: { temporal: { address } }).';

export function temporalUnavailable(address: string, reason: string, cause?: unknown): TemporalUnavailableError {
  return new TemporalUnavailableError(address, `Cannot reach Temporal at ${address} (${reason}). ${HINT}`, { cause });
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** `host:port` (or `[v6]:port`) split, or null for other address forms (unix sockets, dns: URIs, no port). */
function hostPort(address: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:/\s]+):(\d+)$/.exec(address);
  if (!m) return null;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1]!, port } : null;
}

/** gRPC goes through an HTTP proxy when one is configured; a direct TCP probe would then say nothing. */
function proxyConfigured(): boolean {
  return ['grpc_proxy', 'https_proxy', 'http_proxy'].some((v) => process.env[v] || process.env[v.toUpperCase()]);
}

const ERRNO_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  EADDRNOTAVAIL: 'address not available',
};

/**
 * A TCP connect to `address` before gRPC: a refused port or an unknown host is known in milliseconds,
 * where the gRPC client would retry until its deadline and then say only "Failed to connect before the
 * deadline". Throws TemporalUnavailableError; resolves true when the port accepts connections, false when
 * it was not probed (an address that is not host:port, or an HTTP proxy configured).
 */
export async function probeTemporalPort(address: string, timeoutMs = connectTimeoutMs()): Promise<boolean> {
  const hp = hostPort(address);
  if (!hp || proxyConfigured()) return false;
  return new Promise<boolean>((resolve, reject) => {
    const socket = net.connect({ host: hp.host, port: hp.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(temporalUnavailable(address, `no answer within ${seconds(timeoutMs)}`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(temporalUnavailable(address, ERRNO_REASONS[err.code ?? ''] ?? err.code ?? err.message, err));
    });
  });
}

/** The first line of a connection error, without the gRPC client's "N UNAVAILABLE:" prefix. */
function detail(err: unknown): string {
  const e = err as { message?: string; cause?: { details?: string; message?: string } };
  const text = e?.cause?.details || e?.cause?.message || e?.message || String(err);
  return text.split('\n')[0]!.replace(/^\d+ [A-Z_]+: /, '');
}

/**
 * Runs `connect` (a Temporal client or native connection) under the connect timeout, after a TCP probe;
 * any failure becomes TemporalUnavailableError naming `address`. `dispose` closes a connection that
 * arrives after the timeout.
 */
export async function guardConnect<T>(
  address: string,
  connect: (remainingMs: number) => Promise<T>,
  opts: { timeoutMs?: number; dispose?: (value: T) => unknown; slackMs?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? connectTimeoutMs();
  const started = Date.now();
  const open = await probeTemporalPort(address, timeoutMs);
  const silent = `${open ? 'the port is open, but ' : ''}no Temporal answered within ${seconds(timeoutMs)}`;
  const remaining = Math.max(1000, timeoutMs - (Date.now() - started));
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const attempt = connect(remaining);
  try {
    return await Promise.race([
      attempt,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(temporalUnavailable(address, silent));
        }, remaining + (opts.slackMs ?? 0));
      }),
    ]);
  } catch (err) {
    if (timedOut) {
      attempt.then((late) => opts.dispose?.(late), () => undefined);
      throw err;
    }
    if (err instanceof TemporalUnavailableError) throw err;
    const text = detail(err);
    const reason = /before the deadline|deadline exceeded/i.test(text)
      ? silent
      : /connection refused/i.test(text)
        ? 'connection refused'
        : text;
    throw temporalUnavailable(address, reason, err);
  } finally {
    clearTimeout(timer);
  }
}

/** `Connection.connect` with the connect timeout and TemporalUnavailableError (see `guardConnect`). */
export async function connectTemporal(options: ConnectionOptions = {}, timeoutMs?: number): Promise<Connection> {
  const address = options.address ?? temporalSettings().connection.address ?? '127.0.0.1:7233';
  const ms = timeoutMs ?? connectTimeoutMs();
  let connection: Connection | undefined;
  try {
    return await guardConnect(
      address,
      async (remainingMs) => {
        // The gRPC client's own deadline ends the attempt; the guard's timer is a backstop just after it.
        connection = Connection.lazy({ ...options, address, connectTimeout: remainingMs });
        await connection.ensureConnected();
        return connection;
      },
      { timeoutMs: ms, slackMs: 500, dispose: (c) => c.close() },
    );
  } catch (err) {
    await connection?.close().catch(() => undefined);
    throw err;
  }
}

const clients = new Map<string, Promise<Client>>();

export function temporalClient(opts: TemporalOptions = {}): Promise<Client> {
  if (opts.client) return Promise.resolve(opts.client);
  const settings = temporalSettings({ address: opts.address, namespace: opts.namespace });
  const id = `${settings.connection.address}/${settings.namespace}`;
  let client = clients.get(id);
  if (!client) {
    // Traces when the OTEL_* variables ask for them (src/temporal/tracing.ts): nothing is loaded otherwise.
    client = Promise.resolve()
      .then(() => clientTracingInterceptors())
      .then(async (interceptors) => {
        const connection = await connectTemporal(settings.connection, connectTimeoutMs(opts.connectTimeoutMs));
        return new Client({ connection, namespace: settings.namespace, ...(interceptors ? { interceptors } : {}) });
      });
    client.catch(() => clients.delete(id));
    clients.set(id, client);
  }
  return client;
}

/** Closes the connections opened by `temporalClient` (lets a script exit promptly), and exports the spans ended so far. */
export async function closeTemporalClients(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  await Promise.all(all.map(async (c) => (await c.catch(() => null))?.connection.close()));
  await flushTracing();
}
