/** Where providers read API keys from: a bearer token or a header of their own (`x-api-key`, `api-key`). */

/** A header's first value, trimmed; '' when absent. */
export function headerValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] ?? '' : value ?? '').trim();
}

/** The token of `Authorization: Bearer TOKEN`; '' when there is none. */
export function bearerToken(authorization: string | undefined): string {
  const match = /^Bearer\s+(.*)$/i.exec(authorization ?? '');
  return match ? match[1].trim() : '';
}
