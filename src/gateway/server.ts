/**
 * `anybatch serve`: OpenAI's Files and Batches API over HTTP, each batch a durable anybatch batch, for every provider
 * anybatch has. The provider is the first path segment (`/anthropic/v1/batches`), or the default provider for
 * `/v1/...`. Routes, as OpenAI's SDKs call them:
 *
 *   POST /v1/files                 multipart (`purpose=batch`, `file`): validated and stored; a bad line is a 400
 *   GET  /v1/files/{id}            the file object (input files, and the result files of batches)
 *   GET  /v1/files/{id}/content    streamed
 *   DELETE /v1/files/{id}          an input file
 *   POST /v1/batches               `{input_file_id, endpoint, completion_window, metadata}`
 *   GET  /v1/batches/{id}
 *   POST /v1/batches/{id}/cancel
 *   GET  /v1/batches?after=&limit= newest first, one listing page of the caller's markers
 *   POST /webhooks/openai          OpenAI's batch webhooks, which wake the batch (src/webhooks/receiver.ts)
 *
 * Stateless: everything is in Temporal and the blob store, so instances can be restarted or run side by side.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { clientStore } from '../config';
import { AnybatchError, TemporalUnavailableError } from '../errors';
import type { ClientOptions } from '../options';
import { getAdapter, isProviderName, supportedProviders, type ProviderName } from '../providers/registry';
import type { BlobStore } from '../storage';
import { GatewayBatches } from './batches';
import { Callers, type GatewayKey } from './callers';
import { badRequest, GatewayError, notFound, sendError, sendJson } from './errors';
import { GatewayFiles } from './files';
import { createWebhookReceiver } from '../webhooks/receiver';

export interface GatewayOptions {
  /** The provider of `/v1/...` (none: only `/<provider>/v1/...` paths are served). */
  defaultProvider?: ProviderName;
  /** Gateway-issued keys (`--keys FILE`); absent: a caller's bearer token is its provider API key. */
  keys?: GatewayKey[];
  /** Where Temporal and the task queue are (the library's client options). */
  client?: ClientOptions;
  /** Options every batch gets unless the caller's say otherwise (`pollInterval`, `retryFailed`, ...: `createBatch`'s). */
  batchDefaults?: Record<string, unknown>;
  /** The largest upload taken (default 2 GiB). */
  maxUploadBytes?: number;
  /** Where each request is logged (method, path, status, time); never headers or bodies. */
  log?: (line: string) => void;
  /** The blob store (default: the process's, ANYBATCH_STORAGE). */
  store?: BlobStore;
  /**
   * How long `close()` lets requests in progress finish before it cuts their connections (default 5 s), so a stalled
   * client (an upload never finished, a download never read) cannot keep the gateway from stopping.
   */
  closeGraceMs?: number;
}

interface ProviderRoutes {
  files: GatewayFiles;
  batches: GatewayBatches;
}

export interface Gateway {
  server: http.Server;
  close(): Promise<void>;
}

export function createGateway(options: GatewayOptions = {}): Gateway {
  const store = options.store ?? clientStore();
  const callers = new Callers(store, options.keys ?? null);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-gateway-'));
  const maxUpload = options.maxUploadBytes ?? 2 * 1024 * 1024 * 1024;
  const routes = new Map<ProviderName, ProviderRoutes>();
  const webhooks = createWebhookReceiver({ ...(options.client ? { client: options.client } : {}), ...(options.log ? { log: options.log } : {}) });
  const routesOf = (provider: ProviderName): ProviderRoutes => {
    let r = routes.get(provider);
    if (!r) {
      const adapter = getAdapter(provider);
      const check = adapter.checkRequest?.bind(adapter);
      const files = new GatewayFiles(store, provider, adapter.capabilities, check && ((payload, endpoint) => check(payload, endpoint, {})));
      r = { files, batches: new GatewayBatches(store, provider, files, options.client ?? {}, tmpDir, options.batchDefaults ?? {}) };
      routes.set(provider, r);
    }
    return r;
  };

  const server = http.createServer((req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    res.once('close', () => options.log?.(`${req.method} ${url.pathname} ${res.headersSent ? res.statusCode : 'dropped'} ${Date.now() - started}ms`));
    handle(req, res, url).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof GatewayError) return sendError(res, err);
      if (err instanceof TemporalUnavailableError) return sendError(res, new GatewayError(503, err.message, 'server_error', 'temporal_unavailable'));
      if (err instanceof AnybatchError) return sendError(res, new GatewayError(500, err.message, 'server_error', err.code ?? null));
      options.log?.(`internal error on ${req.method} ${url.pathname}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      sendError(res, new GatewayError(500, 'The gateway had an error while processing your request.', 'server_error'));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // The health route answers without a key: the process is up and serving (compose's healthcheck).
    if (url.pathname === '/healthz' && req.method === 'GET') return sendJson(res, 200, { status: 'ok' });
    // Provider webhooks (/webhooks/openai): authenticated by their signatures, not by a caller's key.
    if (await webhooks.handle(req, res, url)) return;
    const segments = url.pathname.split('/').filter(Boolean);
    let provider: ProviderName | undefined;
    if (segments[0] === 'v1') {
      provider = options.defaultProvider;
      if (!provider) throw notFound(`No default provider: call /<provider>/v1/... (${supportedProviders().join(', ')}), or start the gateway with --default-provider.`);
    } else if (segments[1] === 'v1' && isProviderName(segments[0])) {
      provider = segments[0];
      segments.shift();
    } else {
      throw notFound(`Invalid URL (${req.method} ${url.pathname}): the gateway serves /<provider>/v1/files and /<provider>/v1/batches (${supportedProviders().join(', ')}).`);
    }
    const rest = segments.slice(1);
    const caller = await callers.of(req);
    const { files, batches } = routesOf(provider);
    const method = req.method ?? 'GET';
    const [collection, id, action] = rest;

    if (collection === 'files') {
      if (method === 'POST' && rest.length === 1) return sendJson(res, 200, await files.upload(req, caller.scope, maxUpload));
      if (rest.length >= 2) {
        const input = await files.get(caller.scope, id);
        const result = input ? null : await batches.resultFile(caller, id);
        if (!input && !result) throw notFound(`No such File object: ${id}`);
        if (method === 'GET' && rest.length === 2) return sendJson(res, 200, input ?? result!.file);
        if (method === 'GET' && action === 'content' && rest.length === 3) {
          const stream = input ? await files.content(caller.scope, id) : await result!.open();
          res.writeHead(200, { 'content-type': 'application/jsonl' });
          await pipeline(stream as NodeJS.ReadableStream, res);
          return;
        }
        if (method === 'DELETE' && rest.length === 2) {
          if (!input) throw badRequest(`${id} holds a batch's results: they go with the batch (anybatch delete).`);
          await files.delete(caller.scope, id);
          return sendJson(res, 200, { id, object: 'file', deleted: true });
        }
      }
    }
    if (collection === 'batches') {
      if (method === 'POST' && rest.length === 1) return sendJson(res, 200, await batches.create(caller, await readJson(req)));
      if (method === 'GET' && rest.length === 1) {
        const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : 20;
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest(`limit must be an integer from 1 to 100 (got ${url.searchParams.get('limit')}).`, 'limit');
        return sendJson(res, 200, await batches.list(caller, url.searchParams.get('after'), limit));
      }
      if (method === 'GET' && rest.length === 2) return sendJson(res, 200, await batches.retrieve(caller, id));
      if (method === 'POST' && rest.length === 3 && action === 'cancel') return sendJson(res, 200, await batches.cancel(caller, id));
    }
    throw notFound(`Invalid URL (${method} ${url.pathname})`);
  }

  return {
    server,
    close: async () => {
      // No new connections, idle ones closed now; requests in progress have the grace to finish, then are cut.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), options.closeGraceMs ?? 5000);
      await closed;
      clearTimeout(cut);
      fs.rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}

/** A JSON body of at most 1 MiB. */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw badRequest('The request body is larger than 1 MiB.');
    chunks.push(chunk as Buffer);
  }
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    return body as Record<string, unknown>;
  } catch (err) {
    throw badRequest(`The request body is not a JSON object: ${(err as Error).message}`);
  }
}
