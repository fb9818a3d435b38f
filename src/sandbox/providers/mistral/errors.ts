/**
 * Mistral's error shape, `{"object": "error", "message", "type", "param", "code"}` (provider-apis-2.md section 2),
 * its `Authorization: Bearer` admission, and its request ids (`mistral-correlation-id`, a UUID).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken } from '../../kernel/auth';
import { ApiError, sendJson } from '../../kernel/http';

export function sendMistralError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, { object: 'error', message: err.message, type: err.type, param: err.param, code: err.code }, err.headers);
}

export function authenticateMistral(req: IncomingMessage, expected: string | null): void {
  const key = bearerToken(req.headers.authorization);
  if (key === '' || (expected !== null && key !== expected)) throw new ApiError(401, 'Unauthorized', 'invalid_request_error', null, 'unauthorized');
}

export const MISTRAL_REQUEST_IDS = { headers: ['mistral-correlation-id'] as const, next: (): string => randomUUID() };
