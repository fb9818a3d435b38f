/** HTTP handlers of `/v1/messages/batches`: create, list, retrieve, cancel, delete, results. */
import { promises as fs } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamFile } from '../../kernel/download';
import { sendJson } from '../../kernel/http';
import { parseLimit } from '../../kernel/pagination';
import type { RouteInput } from '../../kernel/provider';
import { receiveBody } from './body';
import type { AnthropicContext } from './context';
import { anthropicError } from './errors';
import type { MessageBatchJson } from './wire';

/** The store names the results path; the API gives an absolute URL on the mount the request came through. */
function absolute(batch: MessageBatchJson, base: string): MessageBatchJson {
  return batch.results_url === null ? batch : { ...batch, results_url: `${base}${batch.results_url}` };
}

export async function createMessageBatch(ctx: AnthropicContext, { req, res, base }: RouteInput): Promise<void> {
  const bodyPath = await receiveBody(req, ctx.kernel.tmpDir, ctx.maxBytes);
  const faults = ctx.kernel.faults.current;
  try {
    const batch = await ctx.batches.create(bodyPath, faults);
    ctx.counters.batchesCreated++;
    // The batch exists from here on; the delay only holds back the answer (a worker may die meanwhile).
    if (faults.createResponseDelayMs) await sleep(faults.createResponseDelayMs);
    if (ctx.kernel.faults.losesCreateResponse(res)) return;
    sendJson(res, 200, absolute(batch, base));
  } finally {
    await fs.rm(bodyPath, { force: true });
  }
}

export async function listMessageBatches(ctx: AnthropicContext, { res, url, base }: RouteInput): Promise<void> {
  const afterId = url.searchParams.get('after_id');
  const beforeId = url.searchParams.get('before_id');
  if (afterId !== null && beforeId !== null) throw anthropicError(400, 'after_id and before_id cannot both be set.');
  const limit = parseLimit(url.searchParams.get('limit'), 20, 1000);
  const page = await ctx.batches.list({ afterId, beforeId }, limit);
  sendJson(res, 200, { ...page, data: page.data.map((batch) => absolute(batch, base)) });
}

export async function retrieveMessageBatch(ctx: AnthropicContext, { res, params, base }: RouteInput): Promise<void> {
  sendJson(res, 200, absolute(await ctx.batches.retrieve(params[0]), base));
}

export async function cancelMessageBatch(ctx: AnthropicContext, { res, params, base }: RouteInput): Promise<void> {
  const { batch, changed } = await ctx.batches.cancel(params[0]);
  if (changed) ctx.counters.batchCancels++;
  sendJson(res, 200, absolute(batch, base));
}

export async function deleteMessageBatch(ctx: AnthropicContext, { res, params }: RouteInput): Promise<void> {
  sendJson(res, 200, await ctx.batches.delete(params[0]));
}

export async function messageBatchResults(ctx: AnthropicContext, { res, params }: RouteInput): Promise<void> {
  const results = await ctx.batches.results(params[0]);
  const { faults } = ctx.kernel;
  const download = { bytesPerSecond: faults.current.downloadBytesPerSecond, truncate: faults.truncatesDownload() };
  await streamFile(res, { id: params[0], ...results }, download, 'application/binary');
}
