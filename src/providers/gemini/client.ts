/**
 * One `GoogleGenAI` client per connection (key, base URL, client args), with the settings every provider client
 * gets: no SDK retries (activities retry, with classification) and the streaming fetch, traced so a failed call
 * can say which request failed (the SDK takes a custom `httpOptions.fetch`). Keys: `apiKey`, else `GEMINI_API_KEY`,
 * else `GOOGLE_API_KEY` (the SDK's own order is the other way round; anybatch names GEMINI_API_KEY in its
 * messages, so it wins). Base URL: `apiBase`, else `GEMINI_BASE_URL`, else the SDK's `GOOGLE_GEMINI_BASE_URL`,
 * else `https://generativelanguage.googleapis.com`.
 */
import { GoogleGenAI, type HttpOptions } from '@google/genai';
import { secretsOf, tracedFetch, type ProviderInfo } from '../http-errors';
import { streamingFetch, type FetchFunction } from '../streaming-fetch';
import { ProviderError, type ProviderConnection } from '../types';
import { rememberFailures } from './errors';

export const GEMINI_KEY_ENV = 'GEMINI_API_KEY';
export const GEMINI_ALT_KEY_ENV = 'GOOGLE_API_KEY';
export const GEMINI_BASE_ENV = 'GEMINI_BASE_URL';
export const GEMINI_SDK_BASE_ENV = 'GOOGLE_GEMINI_BASE_URL';
export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

/** The SDK's raw request, for what its typed calls drop (`batchStats`) or only write to disk (downloads). */
export interface RawResponse {
  headers: Record<string, string>;
  json(): Promise<unknown>;
  responseInternal: Response;
}
interface RawClient {
  request(request: { path: string; httpMethod: 'GET' | 'POST' | 'DELETE'; queryParams?: Record<string, string>; body?: string }): Promise<RawResponse>;
}

export interface GeminiClient {
  ai: GoogleGenAI;
  raw: RawClient;
}

function env(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

export class GeminiClients {
  private readonly clients = new Map<string, GeminiClient>();

  constructor(
    private readonly provider: ProviderInfo,
    private readonly fetch: FetchFunction = streamingFetch,
  ) {}

  get(conn: ProviderConnection): GeminiClient {
    const id = JSON.stringify([conn.apiKey ?? null, conn.apiBase ?? null, conn.clientArgs ?? null]);
    let client = this.clients.get(id);
    if (client) return client;
    const apiKey = conn.apiKey ?? env(GEMINI_KEY_ENV) ?? env(GEMINI_ALT_KEY_ENV);
    if (!apiKey) {
      throw new ProviderError(
        'auth',
        `No ${this.provider.label} API key: pass --api-key on the CLI or apiKey in the library, or set ${GEMINI_KEY_ENV} (or ${GEMINI_ALT_KEY_ENV}) in the worker environment.`,
      );
    }
    const baseUrl = (conn.apiBase ?? env(GEMINI_BASE_ENV) ?? env(GEMINI_SDK_BASE_ENV) ?? GEMINI_DEFAULT_BASE_URL).replace(/\/+$/, '');
    const args = conn.clientArgs ?? {};
    const timeout = typeof args.timeout === 'number' ? args.timeout : 600_000;
    const headers = { ...(args.headers as Record<string, string> | undefined), ...(args.defaultHeaders as Record<string, string> | undefined) };
    const secrets = secretsOf(apiKey, conn.clientArgs);
    const httpOptions: HttpOptions = {
      ...(args.httpOptions as HttpOptions | undefined),
      baseUrl,
      timeout,
      ...(Object.keys(headers).length ? { headers } : {}),
      fetch: rememberFailures(tracedFetch(this.fetch, () => ({ baseURL: baseUrl, timeoutMs: timeout, secrets }))) as HttpOptions['fetch'],
    };
    const apiVersion = typeof args.apiVersion === 'string' ? args.apiVersion : undefined;
    const ai = new GoogleGenAI({ apiKey, httpOptions, ...(apiVersion ? { apiVersion } : {}) });
    client = { ai, raw: (ai as unknown as { apiClient: RawClient }).apiClient };
    this.clients.set(id, client);
    return client;
  }
}
