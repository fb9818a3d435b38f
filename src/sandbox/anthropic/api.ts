/** HTTP handlers of `/v1/messages/batches`: create, list, retrieve, cancel, delete, results. */
import { promises as fs } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamFile } from '../download';
import { sendJson } from '../http';
import { parseLimit } from '../pagination';
import type { RouteContext, RouteInput } from '../routes';
import { receiveBody } from './body';
import { anthropicError } from './errors';

export async function createMessageBatch(ctx: RouteContext, { req, res }: RouteInput): Promise<void> {
  const bodyPath = await receiveBody(req, ctx.tmpDir, ctx.options.anthropic.maxBytes);
  const faults = ctx.faults.current;
  try {
    const batch = await ctx.messageBatches.create(bodyPath, faults);
    ctx.counters.messageBatchesCreated++;
    // The batch exists from here on; the delay only holds back the answer (a worker may die meanwhile).
    if (faults.createResponseDelayMs) await sleep(faults.createResponseDelayMs);
    sendJson(res, 200, batch);
  } finally {
    await fs.rm(bodyPath, { force: true });
  }
}

export async function listMessageBatches(ctx: RouteContext, { res, url }: RouteInput): Promise<void> {
  const afterId = url.searchParams.get('after_id');
  const beforeId = url.searchParams.get('before_id');
  if (afterId !== null && beforeId !== null) throw anthropicError(400, 'after_id and before_id cannot both be set.');
  const limit = parseLimit(url.searchParams.get('limit'), 20, 1000);
  sendJson(res, 200, await ctx.messageBatches.list({ afterId, beforeId }, limit));
}

export async function retrieveMessageBatch(ctx: RouteContext, { res, params }: RouteInput): Promise<void> {
  sendJson(res, 200, await ctx.messageBatches.retrieve(params[0]));
}

export async function cancelMessageBatch(ctx: RouteContext, { res, params }: RouteInput): Promise<void> {
  const { batch, changed } = await ctx.messageBatches.cancel(params[0]);
  if (changed) ctx.counters.messageBatchCancels++;
  sendJson(res, 200, batch);
}

export async function deleteMessageBatch(ctx: RouteContext, { res, params }: RouteInput): Promise<void> {
  sendJson(res, 200, await ctx.messageBatches.delete(params[0]));
}

export async function messageBatchResults(ctx: RouteContext, { res, params }: RouteInput): Promise<void> {
  const results = await ctx.messageBatches.results(params[0]);
  const download = { bytesPerSecond: ctx.faults.current.downloadBytesPerSecond, truncate: ctx.faults.truncatesDownload() };
  await streamFile(res, { id: params[0], ...results }, download, 'application/binary');
}
