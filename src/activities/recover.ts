/**
 * The recovery of a batch's given-up parts (`anybatch recover ID`): for each part the merge recorded
 * (src/contract/recovery.ts), read its provider batch; once terminal, write what it produced for the requests that
 * still carry the give-up error, and rewrite the two result files so each of those requests is in exactly one line.
 * Parts go one at a time, each committed through the manifest's journal (src/results/recovery.ts), so a recovery
 * that stops anywhere is simply run again. When no part is left, the manifest and the kept staged input go.
 */
import { isTerminal } from '../contract/batch';
import type { Batch } from '../contract/batch';
import type { RecoverablePart, RecoveredPart, RecoveryManifest, RecoveryReport } from '../contract/recovery';
import type { BatchSpec, PartPlan, PartResults } from '../contract/spec';
import {
  commitRewrite,
  countResults,
  readManifest,
  removeScratch,
  replaceableIds,
  scratchPrefix,
  stageRewrite,
  writeManifest,
} from '../results/recovery';
import type { StoreResults } from '../results/writer';
import { layout } from '../storage/layout';
import type { BatchFiles } from '../storage/batch-files';

export interface RecoveryIo {
  /** Reads the provider batch (the batch's connection, classified failures). */
  retrieve(providerBatchId: string): Promise<Batch>;
  /** Writes a part's results for `ids` (the provider's lines, and an error line for each id it did not report). */
  write(part: PartPlan, batch: Batch, ids: AsyncIterable<string>, target: StoreResults): Promise<PartResults>;
  log: { info(message: string, attrs?: Record<string, unknown>): void; warn(message: string, attrs?: Record<string, unknown>): void };
}

async function* each(ids: Iterable<string>): AsyncGenerator<string> {
  yield* ids;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Takes the part out of the manifest (and the manifest away when it was the last). */
async function settle(target: StoreResults, manifest: RecoveryManifest, index: number): Promise<void> {
  manifest.parts = manifest.parts.filter((p) => p.plan.index !== index);
  manifest.committing = null;
  if (manifest.parts.length > 0) await writeManifest(target, manifest);
  else await target.store.delete(layout.recovery(target.prefix));
}

async function recoverPart(spec: BatchSpec, staged: BatchFiles, target: StoreResults, manifest: RecoveryManifest, part: RecoverablePart, io: RecoveryIo): Promise<RecoveredPart> {
  const base = { index: part.plan.index, provider_batch_id: part.providerBatchId };
  let batch: Batch;
  try {
    batch = await io.retrieve(part.providerBatchId);
  } catch (err) {
    return { ...base, outcome: 'unreadable', error: messageOf(err) };
  }
  if (!isTerminal(batch.status)) return { ...base, outcome: 'not_finished', provider_status: batch.status };
  const ids = await staged.partIds(part.plan);
  if (ids === null) {
    return { ...base, outcome: 'unreadable', provider_status: batch.status, error: `the staged input of part ${part.plan.index} and its request ids are gone (${staged.idsPlace})` };
  }
  const replaced = await replaceableIds(target, ids, part.code);
  if (replaced.size === 0) {
    await settle(target, manifest, part.plan.index);
    return { ...base, outcome: 'already_recovered', provider_status: batch.status };
  }
  let written: PartResults;
  try {
    written = await io.write(part.plan, batch, each(replaced), { store: target.store, prefix: scratchPrefix(target.prefix) });
  } catch (err) {
    return { ...base, outcome: 'unreadable', provider_status: batch.status, error: messageOf(err) };
  }
  const counts = await stageRewrite(target, part.plan.index, replaced, part.code);
  await writeManifest(target, { ...manifest, committing: { index: part.plan.index, ...counts } });
  await commitRewrite(target);
  await settle(target, manifest, part.plan.index);
  io.log.info('given-up part recovered', { batchId: spec.batchId, part: part.plan.index, output: written.outputCount, errors: written.errorsCount });
  return { ...base, outcome: 'recovered', provider_status: batch.status, output: written.outputCount, errors: written.errorsCount };
}

export async function recoverResults(spec: BatchSpec, staged: BatchFiles, io: RecoveryIo): Promise<RecoveryReport> {
  const target = staged.resultsStore;
  const manifest = await readManifest(target);
  const parts: RecoveredPart[] = [];
  if (manifest !== null) {
    // A commit that a stopped recovery left under way is finished first.
    if (manifest.committing) {
      await commitRewrite(target);
      await settle(target, manifest, manifest.committing.index);
    } else {
      await removeScratch(target);
    }
    for (const part of [...manifest.parts]) parts.push(await recoverPart(spec, staged, target, manifest, part, io));
    if (manifest.parts.length === 0) {
      for (const problem of await staged.cleanUp()) io.log.warn(problem, { batchId: spec.batchId });
    }
  }
  const counts = await countResults(target);
  return {
    batch_id: spec.batchId,
    recovered_at: Math.floor(Date.now() / 1000),
    parts,
    remaining: manifest?.parts.length ?? 0,
    output_count: counts.outputCount,
    errors_count: counts.errorsCount,
  };
}
