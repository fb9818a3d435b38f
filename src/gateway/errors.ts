/**
 * The gateway's refusals, in OpenAI's error envelope (`{"error": {"message", "type", "param", "code"}}`) with OpenAI's
 * status codes, so every OpenAI SDK raises its own typed error (`BadRequestError`, `AuthenticationError`,
 * `NotFoundError`, ...). Messages never hold a key.
 */
import type { ServerResponse } from 'node:http';

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = status === 401 ? 'invalid_request_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null) => new GatewayError(400, message, 'invalid_request_error', code, param);
export const notFound = (message: string) => new GatewayError(404, message, 'invalid_request_error', 'not_found');
export const unauthorized = (message: string) => new GatewayError(401, message, 'invalid_request_error', 'invalid_api_key');

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: GatewayError): void {
  sendJson(res, err.status, { error: { message: err.message, type: err.type, param: err.param, code: err.code } });
}
