/**
 * Rewriting a batch's result files with what a given-up part's provider batch produced after all (see
 * src/contract/recovery.ts). The files are in a blob store under a prefix (a local results folder is a local store
 * rooted at it: `BatchFiles.resultsStore`, src/storage/batch-files.ts). Memory is bounded by one part's requests (the ids being replaced), never by the files.
 *
 * Crash-safe by a journal in the manifest: the rewritten files are staged whole under `.recover/`; the manifest then
 * records that they are being committed; they are copied over the merged files; only then is the part taken out of
 * the manifest. A recovery that stops anywhere is repeated from the manifest: a commit under way is finished, and a
 * part whose error lines were already replaced has nothing left to replace. Every custom_id stays in exactly one line.
 */
import type { RecoverablePart, RecoveryManifest } from '../contract/recovery';
import { layout } from '../storage/layout';
import { BlobNotFoundError } from '../storage/errors';
import type { BlobStore } from '../storage/types';
import { BlobWriter, countObjectLines, objectChunks } from './blob-writer';
import { splitLines } from './jsonl';
import type { StoreResults } from './writer';

const NEWLINE = Buffer.from('\n');

/** The staged rewrite of the merged files, and the part results it is made from. */
export function scratchPrefix(prefix: string): string {
  return layout.recoverScratch(prefix);
}

export async function readManifest({ store, prefix }: StoreResults): Promise<RecoveryManifest | null> {
  const key = layout.recovery(prefix);
  let text = '';
  try {
    for await (const chunk of objectChunks(store, key)) text += chunk.toString('utf8');
  } catch (err) {
    if (err instanceof BlobNotFoundError) return null;
    throw err;
  }
  const manifest = JSON.parse(text) as RecoveryManifest;
  if (manifest.version !== 1 || !Array.isArray(manifest.parts)) throw new Error(`${store.uri(key)} is not a recovery manifest this version can read`);
  return manifest;
}

export async function writeManifest({ store, prefix }: StoreResults, manifest: RecoveryManifest): Promise<void> {
  await store.put(layout.recovery(prefix), Buffer.from(JSON.stringify(manifest, null, 1) + '\n'), { contentType: 'application/json' });
}

/** Records the given-up parts of a batch whose results are being merged (idempotent: a repeat writes the same). */
export async function recordRecoverable(target: StoreResults, batchId: string, parts: RecoverablePart[]): Promise<void> {
  await writeManifest(target, { version: 1, batchId, parts, committing: null });
}

interface ErrorLineHead {
  custom_id?: unknown;
  error?: { code?: unknown } | null;
}

function headOf(line: Buffer): ErrorLineHead | null {
  try {
    return JSON.parse(line.toString('utf8')) as ErrorLineHead;
  } catch {
    return null;
  }
}

/**
 * The part's requests whose line in errors.jsonl still carries the give-up `code`: those a recovery replaces (a
 * request retried in a later round, or already recovered, has no such line and is left alone).
 */
export async function replaceableIds({ store, prefix }: StoreResults, partIds: AsyncIterable<string>, code: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const id of partIds) ids.add(id);
  const found = new Set<string>();
  for await (const line of splitLines(objectChunks(store, layout.errors(prefix)))) {
    if (line.length === 0) continue;
    const head = headOf(line);
    if (head && typeof head.custom_id === 'string' && head.error?.code === code && ids.has(head.custom_id)) found.add(head.custom_id);
  }
  return found;
}

/** The part results a recovery writes (through src/results/writer.ts) before staging the rewrite. */
export function recoveredPartKeys(prefix: string, index: number): { output: string; errors: string } {
  const scratch = scratchPrefix(prefix);
  return { output: layout.partOutput(scratch, index), errors: layout.partErrors(scratch, index) };
}

async function writeObject(store: BlobStore, key: string, lines: AsyncIterable<Buffer>): Promise<number> {
  const out = new BlobWriter(store, key);
  let count = 0;
  try {
    for await (const line of lines) {
      await out.write(Buffer.concat([line, NEWLINE]));
      count += 1;
    }
    await out.close();
  } catch (err) {
    await out.discard(err);
    throw err;
  }
  return count;
}

async function* nonEmptyLines(store: BlobStore, key: string): AsyncGenerator<Buffer> {
  for await (const line of splitLines(objectChunks(store, key))) if (line.length > 0) yield line;
}

/**
 * Stages the rewritten files under `.recover/`: output.jsonl with the part's recovered output lines appended;
 * errors.jsonl without the `replaced` requests' give-up lines (code `code`), with the part's new error lines appended.
 */
export async function stageRewrite(target: StoreResults, index: number, replaced: ReadonlySet<string>, code: string): Promise<{ outputCount: number; errorsCount: number }> {
  const { store, prefix } = target;
  const scratch = scratchPrefix(prefix);
  const part = recoveredPartKeys(prefix, index);
  const outputCount = await writeObject(store, layout.output(scratch), (async function* () {
    yield* nonEmptyLines(store, layout.output(prefix));
    yield* nonEmptyLines(store, part.output);
  })());
  const errorsCount = await writeObject(store, layout.errors(scratch), (async function* () {
    for await (const line of nonEmptyLines(store, layout.errors(prefix))) {
      const head = headOf(line);
      if (head && typeof head.custom_id === 'string' && head.error?.code === code && replaced.has(head.custom_id)) continue;
      yield line;
    }
    yield* nonEmptyLines(store, part.errors);
  })());
  return { outputCount, errorsCount };
}

/** Copies the staged rewrite over the merged files, then removes the scratch. Repeatable. */
export async function commitRewrite(target: StoreResults): Promise<void> {
  const { store, prefix } = target;
  const scratch = scratchPrefix(prefix);
  for (const [from, to] of [
    [layout.output(scratch), layout.output(prefix)],
    [layout.errors(scratch), layout.errors(prefix)],
  ]) {
    // A repeat after the copy finished (and the scratch went) has nothing left to copy.
    if ((await store.head(from)) === null) continue;
    await writeObject(store, to, nonEmptyLines(store, from));
  }
  await removeScratch(target);
}

export async function removeScratch({ store, prefix }: StoreResults): Promise<void> {
  const scratch = scratchPrefix(prefix);
  const keys: string[] = [];
  for await (const entry of store.list(scratch)) keys.push(entry.key);
  for (const key of keys) await store.delete(key);
  // A local folder keeps the emptied folders: they go too.
  await store.removeFolder(scratch);
}

/** The merged files' line counts, as they stand. */
export async function countResults({ store, prefix }: StoreResults): Promise<{ outputCount: number; errorsCount: number }> {
  return { outputCount: await countObjectLines(store, layout.output(prefix)), errorsCount: await countObjectLines(store, layout.errors(prefix)) };
}
