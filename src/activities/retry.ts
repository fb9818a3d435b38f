/**
 * One retry round of `retryFailed`: the requests of the last round's parts that ended with a retryable error
 * (src/results/retryable.ts) are copied from the staged input into new parts, split by the provider's limits like
 * any part, so that the workflow submits them as follow-up provider batches. A round smaller than the provider's
 * minimum batch (Bedrock's 100 records, Cerebras's 10 requests) is not sent: its requests keep their error lines.
 *
 * Streams both ways: the last round's error files are read line by line (only the retryable custom_ids are kept:
 * memory grows with the number of requests retried, never with the input), then the staged input is read once and
 * the retried lines are written to the store. Keys are deterministic (the batch's part keys at the indexes the workflow
 * gives), so an activity retry rewrites the same objects:
 * - the round's requests are written as part `firstIndex`; when they fit one provider batch, that is the part;
 * - otherwise they are cut into parts `firstIndex + 1`, `firstIndex + 2`, ... (part `firstIndex` then only holds
 *   the round's requests until the batch's staged inputs are deleted).
 */
import { log } from '@temporalio/activity';
import { AnybatchError } from '../errors';
import { BlobWriter, objectChunks } from '../results/blob-writer';
import { splitLines } from '../results/jsonl';
import { isRetryable } from '../results/retryable';
import type { RetryableLine } from '../results/retryable';
import { splitStaged } from '../results/split';
import type { PartSink, SplitLimits } from '../results/split';
import { partIndexOf } from '../results/writer';
import { layout } from '../storage/layout';
import type { BlobStore } from '../storage/types';
import type { PartPlan, PartResults } from '../contract/spec';
import { checkPartIndex } from '../storage/batch-files';
import type { BatchFiles } from '../storage/batch-files';
import type { RetryRound } from '../contract/activities';

const NEWLINE = Buffer.from('\n');

/**
 * The custom_ids of the retryable error lines in `from`'s error files: read at the batch's own part result files (by
 * the part index their names carry), never at a path the workflow names.
 */
async function retryableIds(staged: BatchFiles, from: PartResults[], codes: readonly string[]): Promise<Set<string>> {
  const target = staged.resultsStore;
  const ids = new Set<string>();
  for (const [i, part] of from.entries()) {
    const index = partIndexOf(String(part.errorsPath), i);
    for await (const line of splitLines(objectChunks(target.store, layout.partErrors(target.prefix, index)))) {
      if (line.length === 0) continue;
      const parsed = JSON.parse(line.toString('utf8')) as RetryableLine & { custom_id: string };
      if (isRetryable(parsed, codes)) ids.add(parsed.custom_id);
    }
  }
  return ids;
}

/** Copies the staged input's lines whose custom_id is in `ids` to `key`; returns what was written. */
async function copyRequests(store: BlobStore, inputKey: string, ids: Set<string>, key: string, cost: (line: Buffer) => number): Promise<{ count: number; bytes: number; sent: number }> {
  const out = new BlobWriter(store, key);
  const written = { count: 0, bytes: 0, sent: 0 };
  try {
    for await (const line of splitLines(objectChunks(store, inputKey))) {
      if (line.length === 0) continue;
      const { custom_id: id } = JSON.parse(line.toString('utf8')) as { custom_id: string };
      if (!ids.has(id)) continue;
      await out.write(line);
      await out.write(NEWLINE);
      written.count += 1;
      written.bytes += line.length + 1;
      written.sent += cost(line);
    }
    await out.close();
  } catch (err) {
    await out.discard(err);
    throw err;
  }
  return written;
}

/** Plans the parts of one retry round (none when no request of the last round is retryable). */
export async function planRetryRound(staged: BatchFiles, round: RetryRound, codes: readonly string[], limits: SplitLimits): Promise<PartPlan[]> {
  const { spec } = staged;
  const { store, keys, placeOf } = staged.objects(
    () => new AnybatchError('storage_config', `batch ${spec.batchId} was staged before the blob store: its failed requests cannot be retried (retryFailed).`),
  );
  const firstIndex = checkPartIndex(spec.batchId, round.firstIndex);
  const ids = await retryableIds(staged, round.from, codes);
  if (ids.size === 0) return [];
  if (limits.minRequests !== undefined && ids.size < limits.minRequests) {
    // The provider would refuse the round's batch, and its refusal would replace these requests' own error lines.
    log.warn('retry round not sent: fewer failed requests than the provider takes in one batch; they keep their error lines', {
      batchId: spec.batchId,
      round: round.round,
      requests: ids.size,
      minimum: limits.minRequests,
    });
    return [];
  }
  const roundKey = keys.part(firstIndex);
  const cost = limits.sentBytes ?? ((line: Buffer) => line.length + 1);
  const written = await copyRequests(store, keys.input, ids, roundKey, cost);
  if (written.count <= limits.maxRequests && written.sent <= limits.maxBytes) {
    return [{ index: firstIndex, path: placeOf(roundKey), requestCount: written.count, bytes: written.bytes }];
  }
  const indexOf = (i: number) => firstIndex + 1 + i;
  const sink: PartSink = {
    pathOf: (i) => placeOf(keys.part(indexOf(i))),
    async open(i) {
      const out = new BlobWriter(store, keys.part(indexOf(i)));
      return { write: (bytes) => out.write(bytes), commit: async () => void (await out.close()), discard: () => out.discard() };
    },
  };
  const parts = await splitStaged({ size: written.bytes, read: () => objectChunks(store, roundKey), path: placeOf(roundKey) }, limits, sink);
  return parts.map((p, i) => ({ ...p, index: indexOf(i) }));
}
