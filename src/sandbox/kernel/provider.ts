/**
 * The one interface every emulated provider implements, and the kernel it is built on. The router
 * (`server.ts`) serves each provider under `/<name>`: it strips the prefix, injects faults, lets the provider
 * admit the request (`authenticate`), matches the provider's `routes`, and renders refusals with `sendError`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReceivedCredentials } from './auth';
import type { FaultInjector } from './faults';
import type { ApiError } from './http';
import type { ResolvedOptions } from './options';
import type { ProviderStats } from './settings';

/** What all provider modules share; built once per sandbox. */
export interface Kernel {
  options: ResolvedOptions;
  faults: FaultInjector;
  /** The clock (ms) every store derives its state from. */
  now: () => number;
  /** Each provider keeps its files under `<dataDir>/<name>`. */
  dataDir: string;
  /** Scratch space for uploads and result files in progress. */
  tmpDir: string;
  counters: KernelCounters;
  /**
   * By provider module name, the credentials of the last API request under its path that carried any (as sent,
   * whether admitted or not): what a test reads to know which key reached the provider.
   */
  credentials: Map<string, ReceivedCredentials>;
}

export interface KernelCounters {
  /** API requests served, faulted ones included. */
  requests: number;
  /** File content responses currently streaming. */
  contentDownloadsInFlight: number;
}

export interface RouteInput {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Decoded path parameters, in order. */
  params: string[];
  /**
   * Absolute URL of the mount the request came through: `http://HOST:PORT/anthropic`, or the bare origin for a
   * prefix-less alias. Responses that name URLs (Anthropic's `results_url`) build on it.
   */
  base: string;
}

export type Handler = (input: RouteInput) => Promise<void>;

export interface Route {
  method: string;
  /** Matched against the path below the provider's prefix. */
  pattern: RegExp;
  handler: Handler;
}

export interface RouteMatch {
  handler: Handler;
  params: string[];
}

/** The first route of `routes` serving the method and path, with its decoded path parameters. */
export function findRoute(routes: readonly Route[], method: string, pathname: string): RouteMatch | null {
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

/** One emulated provider, as the router sees it. */
export interface SandboxProvider {
  /** Its path prefix (`/<name>`) and its key in the base-URL table. */
  readonly name: string;
  readonly routes: readonly Route[];
  /**
   * Admits a request the provider's way, before routing: reads the API key where the provider sends it
   * (`Authorization: Bearer`, `x-api-key`, `api-key`), checks it against `--api-key` when set, and checks
   * whatever else the provider requires on every request (`anthropic-version`, `api-version`). Throws the
   * provider's refusal. `path` is the path below the prefix.
   */
  authenticate(req: IncomingMessage, path: string, url: URL): void;
  /** Renders a refusal (a handler's, the router's or an injected fault) in the provider's error shape. */
  sendError(res: ServerResponse, err: ApiError, requestId: string): void;
  /** Every response carries a fresh request id in the provider's format, under each of these headers. */
  readonly requestIds: { headers: readonly string[]; next(): string };
  /** The provider's own state: its batch (and file) stores. */
  readonly store: ProviderStore;
}

export interface ProviderStore {
  /** Creates the store's directories; called once before the server listens. */
  init(): Promise<void>;
  stats(): ProviderStats;
  /** Waits for background validation and result writing, so the data directory can be removed. */
  drain(): Promise<void>;
}

/** A provider module: one registry line in `providers/index.ts`. */
export interface ProviderModule {
  name: string;
  /** What follows `<url>/<name>` in the base URL its SDK takes: `/v1`, `` (Anthropic, Azure's endpoint), `/openai/v1`. */
  basePath: string;
  create(kernel: Kernel): SandboxProvider;
}
