/**
 * The router: request ids, logging, the `/_sandbox` control routes, then for a provider's paths injected
 * faults, the provider's admission (auth) and its route table. Each provider is served under `/<name>` and
 * answers in its own dialect (auth headers, request ids, error shape); the paths from before the prefixes
 * stay as aliases: `/v1/messages/...` for Anthropic, the rest of `/v1/...` for OpenAI.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { receivedCredentials } from './kernel/auth';
import { ApiError, readJsonBody, sendJson } from './kernel/http';
import { checkFaults, SandboxSettingError } from './kernel/options';
import { findRoute, type Kernel, type Route, type SandboxProvider } from './kernel/provider';
import type { SandboxStats } from './kernel/settings';

export interface SandboxServer {
  server: http.Server;
  /** Destroys every open connection, including downloads and keep-alive sockets. */
  destroySockets(): void;
}

/** Where a request goes: the provider, the prefix it came through, and the path below that prefix. */
interface Mount {
  provider: SandboxProvider;
  prefix: string;
  path: string;
}

/** Prefix-less paths from before the prefixes, most specific first; the provider sees the whole path. */
const ALIASES: ReadonlyArray<{ provider: string; matches(pathname: string): boolean }> = [
  { provider: 'anthropic', matches: (p) => p === '/v1/messages' || p.startsWith('/v1/messages/') },
  { provider: 'openai', matches: (p) => p.startsWith('/v1/') },
];

/** Control routes and paths of no provider answer in OpenAI's dialect, as they always have. */
const DEFAULT_DIALECT = 'openai';

interface App {
  kernel: Kernel;
  providers: Map<string, SandboxProvider>;
  stats: () => SandboxStats;
  /** The sandbox's own URL, known once it listens. */
  origin: () => string;
  /** The online endpoints (providers/online), served under the OpenAI mount. */
  online: readonly Route[];
}

export function createSandboxServer(kernel: Kernel, providers: readonly SandboxProvider[], stats: () => SandboxStats, origin: () => string, online: readonly Route[] = []): SandboxServer {
  const app: App = { kernel, providers: new Map(providers.map((p) => [p.name, p])), stats, origin, online };
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    void handle(app, req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    server,
    destroySockets: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

function mountOf(app: App, pathname: string): Mount | null {
  const first = pathname.split('/', 2)[1] ?? '';
  const named = app.providers.get(first);
  if (named) return { provider: named, prefix: `/${first}`, path: pathname.slice(first.length + 1) };
  const alias = ALIASES.find((a) => a.matches(pathname));
  const aliased = alias ? app.providers.get(alias.provider) : undefined;
  return aliased ? { provider: aliased, prefix: '', path: pathname } : null;
}

async function handle(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
  const mount = mountOf(app, url.pathname);
  const dialect = mount?.provider ?? (app.providers.get(DEFAULT_DIALECT) as SandboxProvider);
  const requestId = dialect.requestIds.next();
  for (const header of dialect.requestIds.headers) res.setHeader(header, requestId);
  const render = (err: ApiError): void => dialect.sendError(res, err, requestId);
  const log = app.kernel.options.log;
  if (log) res.once('close', () => log(`${method} ${url.pathname} ${res.headersSent ? res.statusCode : 'dropped'} ${Date.now() - started}ms`));
  try {
    if (url.pathname.startsWith('/_sandbox/')) await control(app, method, url.pathname, req, res);
    else if (mount) await api(app, mount, method, url, req, res);
    else throw invalidUrl(method, url.pathname);
  } catch (err) {
    if (res.headersSent) {
      res.destroy(); // mid-body: the only honest signal left is a broken connection
      return;
    }
    if (err instanceof ApiError) return render(err);
    log?.(`internal error on ${method} ${url.pathname}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    render(new ApiError(500, 'The server had an error while processing your request.', 'server_error'));
  }
}

async function api(app: App, mount: Mount, method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { kernel } = app;
  kernel.counters.requests++;
  const credentials = receivedCredentials(req, url);
  if (credentials) kernel.credentials.set(mount.provider.name, credentials);
  const faults = kernel.faults.current;
  if (faults.slowMs) await sleep(faults.slowMs);
  const fault = kernel.faults.decide();
  if (fault.kind === 'drop') {
    req.socket.destroy();
    return;
  }
  if (fault.kind === 'error') throw fault.error;
  mount.provider.authenticate(req, mount.path, url);
  const route = findRoute(mount.provider.routes, method, mount.path) ?? (mount.provider.name === 'openai' ? findRoute(app.online, method, mount.path) : null);
  if (!route) throw invalidUrl(method, url.pathname);
  await route.handler({ req, res, url, params: route.params, base: `${app.origin()}${mount.prefix}` });
}

/** Test hooks: no auth, no faults, not counted as API requests. */
async function control(app: App, method: string, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (method === 'GET' && pathname === '/_sandbox/stats') return sendJson(res, 200, app.stats());
  if (method === 'POST' && pathname === '/_sandbox/faults') {
    const body = await readJsonBody(req);
    try {
      app.kernel.faults.set(checkFaults(body));
    } catch (err) {
      if (err instanceof SandboxSettingError) throw new ApiError(400, err.message);
      throw err;
    }
    return sendJson(res, 200, { faults: app.kernel.faults.current });
  }
  throw invalidUrl(method, pathname);
}

function invalidUrl(method: string, pathname: string): ApiError {
  return new ApiError(404, `Invalid URL (${method} ${pathname})`);
}
