/**
 * Vertex AI's way of admitting requests and of refusing them (Google's API conventions,
 * https://cloud.google.com/apis/design/errors): errors are `{"error": {"code", "message", "status"}}`, `status`
 * being the canonical code's name; a job's `error` and a failed line's status carry the canonical code's number.
 * Callers come with `x-goog-api-key` (express mode; `?key=` too) or `Authorization: Bearer` (OAuth2 from ADC);
 * docs/provider-apis-3.md section 2 "Local base URL plus fake credentials" shows @google/genai sending either.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, headerValue } from '../../kernel/auth';
import { ApiError, sendJson } from '../../kernel/http';

/** A canonical code: its number (google.rpc.Code) and name. */
export interface Canonical {
  code: number;
  status: string;
}

const BY_NAME: Record<string, Canonical> = Object.fromEntries(
  (
    [
      [1, 'CANCELLED'],
      [3, 'INVALID_ARGUMENT'],
      [4, 'DEADLINE_EXCEEDED'],
      [5, 'NOT_FOUND'],
      [6, 'ALREADY_EXISTS'],
      [7, 'PERMISSION_DENIED'],
      [8, 'RESOURCE_EXHAUSTED'],
      [9, 'FAILED_PRECONDITION'],
      [10, 'ABORTED'],
      [12, 'UNIMPLEMENTED'],
      [13, 'INTERNAL'],
      [14, 'UNAVAILABLE'],
      [16, 'UNAUTHENTICATED'],
    ] as const
  ).map(([code, status]) => [status, { code, status }]),
);

/** The canonical code Google answers an HTTP status with (FAILED_PRECONDITION is also a 400: say so by name). */
export function canonicalOf(httpStatus: number): Canonical {
  const name: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED', 499: 'CANCELLED', 501: 'UNIMPLEMENTED', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };
  return BY_NAME[name[httpStatus] ?? (httpStatus >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION')];
}

/** A refusal; `status` names the canonical code when the HTTP status alone does not (FAILED_PRECONDITION). */
export function vertexError(httpStatus: number, message: string, status = canonicalOf(httpStatus).status, headers: Record<string, string> = {}): ApiError {
  return new ApiError(httpStatus, message, status, null, null, headers);
}

/** Renders any refusal, injected faults (built in OpenAI's terms) included, in Google's shape. */
export function sendVertexError(res: ServerResponse, err: ApiError): void {
  const status = BY_NAME[err.type]?.status ?? canonicalOf(err.status).status;
  sendJson(res, err.status, { error: { code: err.status, message: err.message, status } }, err.headers);
}

/**
 * Admits a bearer token (any: the sandbox cannot check Google's), or an API key, which must be `expected` when the
 * sandbox has one. Google's wording for a missing credential and for a wrong key.
 */
export function authenticateVertex(req: IncomingMessage, url: URL, expected: string | null): void {
  if (bearerToken(req.headers.authorization) !== '') return;
  const key = headerValue(req.headers['x-goog-api-key']) || (url.searchParams.get('key') ?? '');
  if (key === '') {
    throw vertexError(
      401,
      'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    );
  }
  if (expected !== null && key !== expected) throw vertexError(400, 'API key not valid. Please pass a valid API key.');
}
