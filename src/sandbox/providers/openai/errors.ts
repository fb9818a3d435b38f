/** OpenAI's error wire format: the four-key error object, `{"error":{"message","type","param","code"}}`. */
import type { ServerResponse } from 'node:http';
import { type ApiError, sendJson } from '../../kernel/http';

export function sendOpenAIError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, err.toJson(), err.headers);
}
