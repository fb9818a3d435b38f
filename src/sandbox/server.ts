/**
 * The HTTP front: request ids, logging, the `/_sandbox` control routes, then for `/v1/*` injected faults,
 * auth and the route table. Paths under `/v1/messages` speak Anthropic's dialect (`x-api-key`,
 * `anthropic-version`, `request-id`, its error shape); the rest speak OpenAI's.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../errors';
import { authenticateAnthropic } from './anthropic/auth';
import { sendAnthropicError } from './anthropic/errors';
import { newAnthropicRequestId } from './anthropic/ids';
import { isAnthropicPath, matchAnthropicRoute } from './anthropic/routes';
import { ApiError, readJsonBody, sendError, sendJson } from './http';
import { newRequestId } from './ids';
import { checkFaults } from './options';
import { matchRoute, type RouteContext } from './routes';
import type { SandboxStats } from './index';

export interface SandboxServer {
  server: http.Server;
  /** Destroys every open connection, including downloads and keep-alive sockets. */
  destroySockets(): void;
}

export function createSandboxServer(ctx: RouteContext, stats: () => SandboxStats): SandboxServer {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    void handle(ctx, stats, req, res);
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

async function handle(ctx: RouteContext, stats: () => SandboxStats, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
  const anthropic = isAnthropicPath(url.pathname);
  const requestId = anthropic ? newAnthropicRequestId() : newRequestId();
  res.setHeader(anthropic ? 'request-id' : 'x-request-id', requestId);
  const render = (err: ApiError): void => (anthropic ? sendAnthropicError(res, err, requestId) : sendError(res, err));
  const log = ctx.options.log;
  if (log) res.once('close', () => log(`${method} ${url.pathname} ${res.headersSent ? res.statusCode : 'dropped'} ${Date.now() - started}ms`));
  try {
    if (url.pathname.startsWith('/_sandbox/')) await control(ctx, stats, method, url.pathname, req, res);
    else if (url.pathname.startsWith('/v1/')) await api(ctx, anthropic, method, url, req, res);
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

async function api(ctx: RouteContext, anthropic: boolean, method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  ctx.counters.requests++;
  const faults = ctx.faults.current;
  if (faults.slowMs) await sleep(faults.slowMs);
  const fault = ctx.faults.decide();
  if (fault.kind === 'drop') {
    req.socket.destroy();
    return;
  }
  if (fault.kind === 'error') throw fault.error;
  if (anthropic) authenticateAnthropic(req, ctx.options.apiKey);
  else authenticate(req, ctx.options.apiKey);
  const route = anthropic ? matchAnthropicRoute(method, url.pathname) : matchRoute(method, url.pathname);
  if (!route) throw invalidUrl(method, url.pathname);
  await route.handler(ctx, { req, res, url, params: route.params });
}

function authenticate(req: IncomingMessage, expected: string | null): void {
  const match = /^Bearer\s+(.*)$/i.exec(req.headers.authorization ?? '');
  const key = match ? match[1].trim() : '';
  if (key === '') {
    throw new ApiError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      'invalid_request_error',
      null,
      'invalid_api_key',
    );
  }
  if (expected !== null && key !== expected) {
    throw new ApiError(401, `Incorrect API key provided: ${maskKey(key)}.`, 'invalid_request_error', null, 'invalid_api_key');
  }
}

/** Like the real API, show only the last four characters of a wrong key. */
function maskKey(key: string): string {
  return key.length > 8 ? `****${key.slice(-4)}` : '****';
}

/** Test hooks: no auth, no faults, not counted as API requests. */
async function control(
  ctx: RouteContext,
  stats: () => SandboxStats,
  method: string,
  pathname: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (method === 'GET' && pathname === '/_sandbox/stats') return sendJson(res, 200, stats());
  if (method === 'POST' && pathname === '/_sandbox/faults') {
    const body = await readJsonBody(req);
    try {
      ctx.faults.set(checkFaults(body));
    } catch (err) {
      if (err instanceof UsageError) throw new ApiError(400, err.message);
      throw err;
    }
    return sendJson(res, 200, { faults: ctx.faults.current });
  }
  throw invalidUrl(method, pathname);
}

function invalidUrl(method: string, pathname: string): ApiError {
  return new ApiError(404, `Invalid URL (${method} ${pathname})`);
}
