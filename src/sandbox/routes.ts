/** The OpenAI `/v1` route table: which handler serves which method and path. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MessageBatchStore } from './anthropic/store';
import { cancelBatch, createBatch, listBatches, retrieveBatch } from './api-batches';
import { createFile, deleteFile, fileContent, listFiles, retrieveFile } from './api-files';
import type { BatchStore } from './batches';
import type { FaultInjector } from './faults';
import type { FileStore } from './files';
import type { ResolvedOptions } from './options';

export interface Counters {
  filesCreated: number;
  batchesCreated: number;
  batchCancels: number;
  messageBatchesCreated: number;
  messageBatchCancels: number;
  requests: number;
  contentDownloadsInFlight: number;
}

/** What every handler may use; built once per sandbox. */
export interface RouteContext {
  options: ResolvedOptions;
  files: FileStore;
  batches: BatchStore;
  messageBatches: MessageBatchStore;
  faults: FaultInjector;
  counters: Counters;
  /** Scratch space for uploads in progress. */
  tmpDir: string;
}

export interface RouteInput {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Decoded path parameters, in order. */
  params: string[];
}

type Handler = (ctx: RouteContext, input: RouteInput) => Promise<void>;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export interface RouteMatch {
  handler: Handler;
  params: string[];
}

const ID = '([^/]+)';

const ROUTES: Route[] = [
  { method: 'POST', pattern: /^\/v1\/files$/, handler: createFile },
  { method: 'GET', pattern: /^\/v1\/files$/, handler: listFiles },
  { method: 'GET', pattern: new RegExp(`^/v1/files/${ID}$`), handler: retrieveFile },
  { method: 'DELETE', pattern: new RegExp(`^/v1/files/${ID}$`), handler: deleteFile },
  { method: 'GET', pattern: new RegExp(`^/v1/files/${ID}/content$`), handler: fileContent },
  { method: 'POST', pattern: /^\/v1\/batches$/, handler: createBatch },
  { method: 'GET', pattern: /^\/v1\/batches$/, handler: listBatches },
  { method: 'GET', pattern: new RegExp(`^/v1/batches/${ID}$`), handler: retrieveBatch },
  { method: 'POST', pattern: new RegExp(`^/v1/batches/${ID}/cancel$`), handler: cancelBatch },
];

export function matchRoute(method: string, pathname: string): RouteMatch | null {
  return findRoute(ROUTES, method, pathname);
}

/** The first route of `routes` serving the method and path, with its decoded path parameters. */
export function findRoute(routes: Route[], method: string, pathname: string): RouteMatch | null {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(pathname);
    if (!match) continue;
    try {
      return { handler: route.handler, params: match.slice(1).map(decodeURIComponent) };
    } catch {
      return null; // a malformed %-escape names no object
    }
  }
  return null;
}
