/**
 * A part the provider failed for a reason that is not its requests' (src/providers/batch-failures.ts) goes out
 * again as new parts, at indexes above every part the batch has, so that each gets its own idempotency key and
 * work folder (the failed provider batch is never found again by a create's lookup):
 * - after a queue limit, one new part holding the same requests (a copy of the part's input);
 * - after a size failure, the part's requests cut into parts of at most `maxRequests` (and the provider's bytes).
 * Streams (flat memory); the keys are deterministic (the batch's part keys), so an activity retry rewrites the same objects.
 */
import { AnybatchError } from '../errors';
import { BlobWriter, objectChunks } from '../results/blob-writer';
import { splitStaged } from '../results/split';
import type { PartSink, SplitLimits } from '../results/split';
import type { PartPlan } from '../contract/spec';
import { checkPartIndex } from '../storage/batch-files';
import type { BatchFiles } from '../storage/batch-files';

/** The new parts of `part`: a copy at `firstIndex` (`maxRequests` null), or its requests cut by `maxRequests`. */
export async function repartition(staged: BatchFiles, part: PartPlan, firstIndex: number, maxRequests: number | null, limits: SplitLimits): Promise<PartPlan[]> {
  const { spec } = staged;
  const { store, keys, placeOf } = staged.objects(
    () => new AnybatchError('storage_config', `batch ${spec.batchId} was staged before the blob store: its part ${part.index} cannot be submitted again.`),
  );
  const id = spec.batchId;
  checkPartIndex(id, firstIndex);
  const source = staged.partKey(part);
  // A part planned as a byte range of the staged input is that range alone.
  const range = staged.partRange(part) ?? undefined;
  if (maxRequests === null) {
    const key = keys.part(firstIndex);
    const out = new BlobWriter(store, key);
    try {
      for await (const chunk of objectChunks(store, source, range)) await out.write(chunk);
      await out.close();
    } catch (err) {
      await out.discard(err);
      throw err;
    }
    return [{ index: firstIndex, path: placeOf(key), requestCount: part.requestCount, bytes: part.bytes }];
  }
  const sink: PartSink = {
    pathOf: (i) => placeOf(keys.part(firstIndex + i)),
    async open(i) {
      const out = new BlobWriter(store, keys.part(firstIndex + i));
      return { write: (bytes) => out.write(bytes), commit: async () => void (await out.close()), discard: () => out.discard() };
    },
  };
  const size = range ? part.bytes : ((await store.head(source))?.size ?? part.bytes);
  const parts = await splitStaged({ size, read: () => objectChunks(store, source, range), path: part.path }, { ...limits, maxRequests: Math.min(maxRequests, limits.maxRequests) }, sink);
  if (parts.length === 1 && parts[0].path === part.path) {
    throw new AnybatchError('internal', `part ${part.index} of batch ${id} (${part.requestCount} requests) cannot be cut below ${maxRequests} requests a part`);
  }
  return parts.map((p, i) => ({ ...p, index: firstIndex + i }));
}
