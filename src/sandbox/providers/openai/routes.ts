/** The route table of an OpenAI-compatible module: the Files and Batches API at each of the dialect's roots. */
import type { Handler, Route, RouteInput } from '../../kernel/provider';
import { cancelBatch, createBatch, listBatches, retrieveBatch } from './api-batches';
import { createFile, deleteFile, fileContent, listFiles, retrieveFile } from './api-files';
import type { OpenAIContext } from './context';
import type { OpenAIHandlers } from './dialect';

const ID = '([^/]+)';

export function openAIRoutes(ctx: OpenAIContext): Route[] {
  const bind =
    (handler: (ctx: OpenAIContext, input: RouteInput) => Promise<void>): Handler =>
    (input) =>
      handler(ctx, input);
  const h: OpenAIHandlers = {
    createFile: bind(createFile),
    listFiles: bind(listFiles),
    retrieveFile: bind(retrieveFile),
    deleteFile: bind(deleteFile),
    fileContent: bind(fileContent),
    createBatch: bind(createBatch),
    listBatches: bind(listBatches),
    retrieveBatch: bind(retrieveBatch),
    cancelBatch: bind(cancelBatch),
  };
  const api = ctx.dialect.apiRoots.flatMap((root): Route[] => {
    const at = (rest: string): RegExp => new RegExp(`^${escape(root)}${rest}$`);
    return [
      { method: 'POST', pattern: at('/files'), handler: h.createFile },
      { method: 'GET', pattern: at('/files'), handler: h.listFiles },
      { method: 'GET', pattern: at(`/files/${ID}`), handler: h.retrieveFile },
      { method: 'DELETE', pattern: at(`/files/${ID}`), handler: h.deleteFile },
      { method: 'GET', pattern: at(`/files/${ID}/content`), handler: h.fileContent },
      { method: 'POST', pattern: at('/batches'), handler: h.createBatch },
      { method: 'GET', pattern: at('/batches'), handler: h.listBatches },
      { method: 'GET', pattern: at(`/batches/${ID}`), handler: h.retrieveBatch },
      // Cerebras cancels with `DELETE /v1/batches/{id}`, and has no `POST .../cancel`.
      ctx.dialect.cancel === 'delete'
        ? { method: 'DELETE', pattern: at(`/batches/${ID}`), handler: h.cancelBatch }
        : { method: 'POST', pattern: at(`/batches/${ID}/cancel`), handler: h.cancelBatch },
    ];
  });
  return [...api, ...(ctx.dialect.extraRoutes?.(h) ?? [])];
}

function escape(path: string): string {
  return path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
