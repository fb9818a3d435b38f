/** Azure OpenAI's error wire format: `{"error":{"code","message"}}`, the code a string (`"404"`, `"BadRequest"`, `"invalid_value"`). */
import type { ServerResponse } from 'node:http';
import { type ApiError, sendJson } from '../../kernel/http';

export function sendAzureError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, { error: { code: err.code ?? String(err.status), message: err.message } }, err.headers);
}
