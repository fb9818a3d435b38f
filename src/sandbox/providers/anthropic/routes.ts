/** The Anthropic route table: the Message Batches API, below the `/anthropic` prefix (or the prefix-less alias). */
import type { Handler, Route, RouteInput } from '../../kernel/provider';
import {
  cancelMessageBatch,
  createMessageBatch,
  deleteMessageBatch,
  listMessageBatches,
  messageBatchResults,
  retrieveMessageBatch,
} from './api';
import type { AnthropicContext } from './context';

const ID = '([^/]+)';

export function anthropicRoutes(ctx: AnthropicContext): Route[] {
  const bind =
    (handler: (ctx: AnthropicContext, input: RouteInput) => Promise<void>): Handler =>
    (input) =>
      handler(ctx, input);
  return [
    { method: 'POST', pattern: /^\/v1\/messages\/batches$/, handler: bind(createMessageBatch) },
    { method: 'GET', pattern: /^\/v1\/messages\/batches$/, handler: bind(listMessageBatches) },
    { method: 'GET', pattern: new RegExp(`^/v1/messages/batches/${ID}$`), handler: bind(retrieveMessageBatch) },
    { method: 'DELETE', pattern: new RegExp(`^/v1/messages/batches/${ID}$`), handler: bind(deleteMessageBatch) },
    { method: 'POST', pattern: new RegExp(`^/v1/messages/batches/${ID}/cancel$`), handler: bind(cancelMessageBatch) },
    { method: 'GET', pattern: new RegExp(`^/v1/messages/batches/${ID}/results$`), handler: bind(messageBatchResults) },
  ];
}
