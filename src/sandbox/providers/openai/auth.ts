/** OpenAI's authentication: `Authorization: Bearer KEY`, and its 401 `invalid_api_key` refusals. */
import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../../kernel/auth';
import { ApiError } from '../../kernel/http';

export function authenticateBearer(req: IncomingMessage, expected: string | null): void {
  const key = bearerToken(req.headers.authorization);
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
