/** Where providers read API keys from: a bearer token or a header of their own (`x-api-key`, `api-key`). */
import type { IncomingMessage } from 'node:http';

/** A header's first value, trimmed; '' when absent. */
export function headerValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] ?? '' : value ?? '').trim();
}

/** The token of `Authorization: Bearer TOKEN`; '' when there is none. */
export function bearerToken(authorization: string | undefined): string {
  const match = /^Bearer\s+(.*)$/i.exec(authorization ?? '');
  return match ? match[1].trim() : '';
}

/**
 * The credentials a request carried, exactly as sent: each header a provider reads a key from, and Google's `?key=`.
 * Only those present are set.
 */
export interface ReceivedCredentials {
  authorization?: string;
  'x-api-key'?: string;
  'api-key'?: string;
  'x-goog-api-key'?: string;
  key?: string;
}

const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'] as const;

/** What `req` carried of `ReceivedCredentials`; null when it carried none. */
export function receivedCredentials(req: IncomingMessage, url: URL): ReceivedCredentials | null {
  const found: ReceivedCredentials = {};
  for (const name of CREDENTIAL_HEADERS) {
    const value = headerValue(req.headers[name]);
    if (value !== '') found[name] = value;
  }
  const key = url.searchParams.get('key');
  if (key) found.key = key;
  return Object.keys(found).length > 0 ? found : null;
}
