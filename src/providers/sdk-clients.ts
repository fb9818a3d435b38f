/**
 * One SDK client per connection (key, base URL, client args), reused so that polls share keep-alive sockets,
 * with the settings every provider client gets: no SDK retries (activities retry, with classification) and
 * the streaming fetch.
 */
import { streamingFetch } from './streaming-fetch';
import { ProviderError } from './types';
import type { ProviderConnection } from './types';

export interface SdkClientOptions {
  maxRetries: number;
  fetch: typeof streamingFetch;
  apiKey: string;
  baseURL: string | undefined;
  [clientArg: string]: unknown;
}

export class SdkClients<T> {
  private readonly clients = new Map<string, T>();

  constructor(
    private readonly provider: { label: string; keyEnv: string; baseEnv: string },
    private readonly make: (options: SdkClientOptions) => T,
  ) {}

  get(conn: ProviderConnection): T {
    const id = JSON.stringify([conn.apiKey ?? null, conn.apiBase ?? null, conn.clientArgs ?? null]);
    let client = this.clients.get(id);
    if (!client) {
      const { label, keyEnv, baseEnv } = this.provider;
      const apiKey = conn.apiKey ?? process.env[keyEnv];
      if (!apiKey) throw new ProviderError('auth', `No ${label} API key: set ${keyEnv} in the worker environment or pass apiKey to createBatch.`);
      client = this.make({ maxRetries: 0, fetch: streamingFetch, ...conn.clientArgs, apiKey, baseURL: conn.apiBase ?? process.env[baseEnv] });
      this.clients.set(id, client);
    }
    return client;
  }
}
