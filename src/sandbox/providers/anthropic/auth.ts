/** Anthropic's request headers: an API key (`x-api-key`, or a bearer token) and `anthropic-version`. */
import type { IncomingMessage } from 'node:http';
import { bearerToken, headerValue } from '../../kernel/auth';
import { anthropicError } from './errors';

export function authenticateAnthropic(req: IncomingMessage, expected: string | null): void {
  const key = headerValue(req.headers['x-api-key']) || bearerToken(req.headers.authorization);
  if (key === '') throw anthropicError(401, 'x-api-key header is required');
  if (expected !== null && key !== expected) throw anthropicError(401, 'invalid x-api-key');
  if (headerValue(req.headers['anthropic-version']) === '') throw anthropicError(400, 'anthropic-version: header is required');
}
