/**
 * One Vertex AI connection per (key, base URL, project, location, client args): `@google/genai` in Vertex mode for
 * the jobs, and the Cloud Storage calls (./gcs.ts) with the same credentials. Credentials: the batch's `apiKey`, else
 * VERTEXAI_API_KEY (Vertex express mode: sent as `x-goog-api-key`), else Application Default Credentials through
 * google-auth-library (scope cloud-platform: GOOGLE_APPLICATION_CREDENTIALS, gcloud's, the metadata server), else an
 * access token fetched beforehand in ANYBATCH_GOOGLE_ACCESS_TOKEN (`gcloud auth print-access-token`; for tests and
 * short jobs: it is not refreshed). Base URL: `apiBase`, else GOOGLE_VERTEX_BASE_URL, else the region's endpoint.
 */
import { GoogleGenAI, type HttpOptions } from '@google/genai';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import { rememberFailures } from '../gemini/errors';
import type { RawResponse } from '../gemini/client';
import { secretsOf, tracedFetch, type ProviderInfo } from '../http-errors';
import { streamingFetch } from '../streaming-fetch';
import { ProviderError, type ProviderConnection } from '../types';
import { GcsClient } from './gcs';
import type { VertexOptions } from './options';

export const VERTEX_KEY_ENV = 'VERTEXAI_API_KEY';
export const VERTEX_BASE_ENV = 'GOOGLE_VERTEX_BASE_URL';
export const VERTEX_TOKEN_ENV = 'ANYBATCH_GOOGLE_ACCESS_TOKEN';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

interface RawClient {
  request(request: { path: string; httpMethod: 'GET' | 'POST' | 'DELETE'; queryParams?: Record<string, string>; body?: string }): Promise<RawResponse>;
}

export interface VertexClient {
  ai: GoogleGenAI;
  raw: RawClient;
  gcs: GcsClient;
  project: string;
  location: string;
}

function env(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

export class VertexClients {
  private readonly clients = new Map<string, VertexClient>();

  constructor(private readonly provider: ProviderInfo) {}

  get(conn: ProviderConnection): VertexClient {
    const options = (conn.options ?? {}) as VertexOptions;
    const project = options.project ?? env('GOOGLE_CLOUD_PROJECT');
    if (!project) throw new ProviderError('invalid_request', `${this.provider.label} batches need a project: pass the project option, or set GOOGLE_CLOUD_PROJECT in the worker environment.`);
    const location = options.location ?? env('GOOGLE_CLOUD_LOCATION') ?? 'us-central1';
    const apiKey = conn.apiKey ?? env(VERTEX_KEY_ENV);
    const id = JSON.stringify([apiKey ?? null, conn.apiBase ?? null, project, location, conn.clientArgs ?? null]);
    let client = this.clients.get(id);
    if (client) return client;
    const token = env(VERTEX_TOKEN_ENV);
    // Without a key: Application Default Credentials, or the static token as the auth client; one for the jobs and storage.
    let authClient: OAuth2Client | undefined;
    if (!apiKey && token) {
      authClient = new OAuth2Client();
      authClient.setCredentials({ access_token: token, expiry_date: Date.now() + 365 * 24 * 3600 * 1000 });
    }
    const authOptions = { scopes: [CLOUD_PLATFORM], ...(authClient ? { authClient } : {}) };
    const auth = apiKey ? null : new GoogleAuth(authOptions);
    const baseUrl = (conn.apiBase ?? env(VERTEX_BASE_ENV) ?? `https://${location === 'global' ? '' : `${location}-`}aiplatform.googleapis.com`).replace(/\/+$/, '');
    const args = conn.clientArgs ?? {};
    const timeout = typeof args.timeout === 'number' ? args.timeout : 600_000;
    const secrets = [...secretsOf(apiKey, conn.clientArgs), ...(token ? [token] : [])];
    const httpOptions: HttpOptions = {
      ...(args.httpOptions as HttpOptions | undefined),
      baseUrl,
      timeout,
      fetch: rememberFailures(tracedFetch(streamingFetch, () => ({ baseURL: baseUrl, timeoutMs: timeout, secrets }))) as HttpOptions['fetch'],
    };
    const ai = new GoogleGenAI({
      vertexai: true,
      project,
      location,
      httpOptions,
      ...(apiKey ? { apiKey } : { googleAuthOptions: authOptions }),
      ...(typeof args.apiVersion === 'string' ? { apiVersion: args.apiVersion } : {}),
    });
    const headers = async (): Promise<Record<string, string>> => {
      if (apiKey) return { 'x-goog-api-key': apiKey };
      const accessToken = await auth!.getAccessToken().catch((err: unknown) => {
        throw new ProviderError('auth', `${this.provider.label}: no Google credentials: set ${VERTEX_KEY_ENV} (express mode), GOOGLE_APPLICATION_CREDENTIALS or ${VERTEX_TOKEN_ENV} (${(err as Error).message})`, { cause: err });
      });
      if (!accessToken) throw new ProviderError('auth', `${this.provider.label}: Google credentials gave no access token.`);
      return { authorization: `Bearer ${accessToken}` };
    };
    client = { ai, raw: (ai as unknown as { apiClient: RawClient }).apiClient, gcs: new GcsClient(headers), project, location };
    this.clients.set(id, client);
    return client;
  }
}
