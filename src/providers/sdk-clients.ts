/**
 * One SDK client per connection (key, base URL, client args), reused so that polls share keep-alive sockets,
 * with the settings every provider client gets: no SDK retries (activities retry, with classification) and
 * the streaming fetch, traced so that a failed call can say which request failed, where, and how (see
 * `sdkCalls` in http-errors.ts).
 */
import { secretsOf, tracedFetch, type ProviderInfo } from './http-errors';
import { streamingFetch, type FetchFunction } from './streaming-fetch';
import { ProviderError } from './types';
import type { ProviderConnection } from './types';

export interface SdkClientOptions {
  maxRetries: number;
  fetch: FetchFunction;
  apiKey: string;
  baseURL: string | undefined;
  [clientArg: string]: unknown;
}

/** What `SdkClients` reads back from a client it made (both Stainless SDKs expose these). */
export interface SdkClient {
  baseURL: string;
  timeout: number;
}

export class SdkClients<T extends SdkClient> {
  private readonly clients = new Map<string, T>();

  constructor(
    private readonly provider: ProviderInfo,
    /** Builds a client from the options every client gets; `conn` holds the batch's provider options too. */
    private readonly make: (options: SdkClientOptions, conn: ProviderConnection) => T,
    /** The fetch under the trace (tests bound the connect time or resolve host names their own way). */
    private readonly fetch: FetchFunction = streamingFetch,
  ) {}

  get(conn: ProviderConnection): T {
    const id = JSON.stringify([conn.apiKey ?? null, conn.apiBase ?? null, conn.clientArgs ?? null, conn.options ?? null]);
    let client = this.clients.get(id);
    if (!client) {
      const { label, keyEnv } = this.provider;
      const apiKey = conn.apiKey ?? process.env[keyEnv];
      if (!apiKey) {
        throw new ProviderError('auth', `No ${label} API key: pass --api-key on the CLI or apiKey in the library, or set ${keyEnv} in the worker environment.`);
      }
      const secrets = secretsOf(apiKey, conn.clientArgs);
      let made: T | undefined;
      const info = () => ({ baseURL: made?.baseURL ?? '', timeoutMs: made?.timeout ?? 0, secrets });
      made = this.make(
        {
          maxRetries: 0,
          ...conn.clientArgs,
          fetch: tracedFetch(this.fetch, info),
          apiKey,
          baseURL: conn.apiBase ?? process.env[this.provider.baseEnv] ?? this.provider.defaultBaseURL ?? undefined,
        },
        conn,
      );
      client = made;
      this.clients.set(id, client);
    }
    return client;
  }
}
