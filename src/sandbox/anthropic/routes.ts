/** The Anthropic route table, and which paths speak Anthropic's dialect (auth headers, error shape). */
import { findRoute, type Route, type RouteMatch } from '../routes';
import {
  cancelMessageBatch,
  createMessageBatch,
  deleteMessageBatch,
  listMessageBatches,
  messageBatchResults,
  retrieveMessageBatch,
} from './api';

const ID = '([^/]+)';

const ROUTES: Route[] = [
  { method: 'POST', pattern: /^\/v1\/messages\/batches$/, handler: createMessageBatch },
  { method: 'GET', pattern: /^\/v1\/messages\/batches$/, handler: listMessageBatches },
  { method: 'GET', pattern: new RegExp(`^/v1/messages/batches/${ID}$`), handler: retrieveMessageBatch },
  { method: 'DELETE', pattern: new RegExp(`^/v1/messages/batches/${ID}$`), handler: deleteMessageBatch },
  { method: 'POST', pattern: new RegExp(`^/v1/messages/batches/${ID}/cancel$`), handler: cancelMessageBatch },
  { method: 'GET', pattern: new RegExp(`^/v1/messages/batches/${ID}/results$`), handler: messageBatchResults },
];

/** `/v1/messages` and below belong to Anthropic's API; the rest of `/v1` is OpenAI's. */
export function isAnthropicPath(pathname: string): boolean {
  return pathname === '/v1/messages' || pathname.startsWith('/v1/messages/');
}

export function matchAnthropicRoute(method: string, pathname: string): RouteMatch | null {
  return findRoute(ROUTES, method, pathname);
}
