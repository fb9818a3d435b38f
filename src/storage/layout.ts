/**
 * Where each piece of a batch lives in the blob store: the one place that names the keys (pure; no I/O).
 *
 * A batch's staged data lives in a folder of its own, one per run of its id (so no batch's keys are ever a prefix
 * of another's, whatever the ids: `nightly` and `nightly.retry` have the folders `inputs/nightly/` and
 * `inputs/nightly.retry/`):
 *
 * - `inputs/<batch>/<run>/input.jsonl`: the validated, staged input (written by the client while it validates);
 * - `inputs/<batch>/<run>/ids.jsonl`: its custom_ids, one JSON string a line, in input order (to account for every
 *   request even when the staged input is gone);
 * - `inputs/<batch>/<run>/part-<i>.jsonl`: part `i` of an input split across several provider batches;
 * - `inputs/<batch>/<run>/work/<i>/<name>`: what the provider adapter keeps for part `i` (translations, id maps,
 *   create markers, the part's run nonce);
 * - `results/<batch>/output.jsonl`, `results/<batch>/errors.jsonl`: the merged results;
 * - `results/<batch>/.parts/<i>.output.jsonl`, `.errors.jsonl`: one part's results before the merge;
 * - `results/<batch>/recovery.json`: the parts given up, kept for `anybatch recover` (src/contract/recovery.ts), and
 *   `results/<batch>/.recover/`: a recovery's staged rewrite of the merged files.
 *
 * `<run>` (`r` and 12 hex digits, never all digits) is new for each `createBatch`: a batch id used again (once its
 * earlier batch is deleted) stages into a new folder, so nothing of an earlier run (a work folder, its run nonce, a
 * worker's scratch copy) is ever taken for this run's.
 *
 * Batches staged before run folders keep the flat layout their spec names (`storage.inputKey` is
 * `inputs/<batch>.jsonl`): `inputs/<batch>.ids.jsonl`, `inputs/<batch>.part-<i>.jsonl`, `inputs/<batch>.work/<i>/`.
 * The worker goes on reading and writing those exact keys; clean-up and `anybatch delete` match them exactly (never
 * as a prefix: `inputs/nightly.` also starts the keys of `nightly.retry`). `stagedKeys` reads which layout a spec
 * uses, and refuses any other key.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type { StorageRef } from '../contract/storage';

export type { StorageRef };

/** The keys of the results, and (flat layout: batches staged before run folders) of the staged data. */
export const layout = {
  /** Flat layout (batches staged before run folders): the staged input. */
  input: (batchId: string): string => `inputs/${batchId}.jsonl`,
  /** Flat layout: the staged input's custom_ids. */
  inputIds: (batchId: string): string => `inputs/${batchId}.ids.jsonl`,
  /** Flat layout: part `index` of a split input. */
  part: (batchId: string, index: number): string => `inputs/${batchId}.part-${index}.jsonl`,
  /** Flat layout: part `index`'s work folder. */
  work: (batchId: string, index: number): string => `inputs/${batchId}.work/${index}/`,
  results: (batchId: string): string => `results/${batchId}/`,
  output: (resultsPrefix: string): string => `${resultsPrefix}output.jsonl`,
  errors: (resultsPrefix: string): string => `${resultsPrefix}errors.jsonl`,
  partOutput: (resultsPrefix: string, index: number): string => `${resultsPrefix}.parts/${index}.output.jsonl`,
  partErrors: (resultsPrefix: string, index: number): string => `${resultsPrefix}.parts/${index}.errors.jsonl`,
  recovery: (resultsPrefix: string): string => `${resultsPrefix}recovery.json`,
  recoverScratch: (resultsPrefix: string): string => `${resultsPrefix}.recover/`,
} as const;

/** The keys of one batch's staged data, in the layout its spec names. */
export interface StagedKeys {
  readonly layout: 'run' | 'flat';
  readonly input: string;
  readonly ids: string;
  /**
   * The parts the client cut while it validated the input, as byte ranges of it (src/storage/input-plan.ts): only in
   * run folders (null in the flat layout, which predates it).
   */
  readonly plan: string | null;
  part(index: number): string;
  /** The part's work folder (ends with `/`). */
  work(index: number): string;
  /** Whether `key` is one of this batch's staged keys (exactly: never a key of another batch). */
  owns(key: string): boolean;
  /** Where to list to find every staged key of the batch (then filtered by `owns`). */
  readonly listPrefix: string;
  /** The run's folder (`inputs/<batch>/<run>/`: the batch's alone), or null for the flat layout. */
  readonly folder: string | null;
}

const RUN = /^r[0-9a-z]{8,32}$/;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A new run folder name: `r` and 12 hex digits. */
export function newRun(): string {
  return `r${crypto.randomBytes(6).toString('hex')}`;
}

function runKeys(batchId: string, run: string): StagedKeys {
  const folder = `inputs/${batchId}/${run}/`;
  return {
    layout: 'run',
    input: `${folder}input.jsonl`,
    ids: `${folder}ids.jsonl`,
    plan: `${folder}plan.json`,
    part: (index) => `${folder}part-${index}.jsonl`,
    work: (index) => `${folder}work/${index}/`,
    owns: (key) => key.startsWith(folder) && key.length > folder.length,
    listPrefix: folder,
    folder,
  };
}

/** The flat layout's keys of a batch, matched exactly (`inputs/<batch>.` is also where `<batch>.retry`'s keys start). */
function flatOwns(batchId: string): (key: string) => boolean {
  const pattern = new RegExp(`^inputs/${escapeRegExp(batchId)}\\.(?:jsonl|ids\\.jsonl|part-\\d+\\.jsonl|work/\\d+/.+)$`);
  return (key) => pattern.test(key);
}

function flatKeys(batchId: string): StagedKeys {
  return {
    layout: 'flat',
    input: layout.input(batchId),
    ids: layout.inputIds(batchId),
    plan: null,
    part: (index) => layout.part(batchId, index),
    work: (index) => layout.work(batchId, index),
    owns: flatOwns(batchId),
    listPrefix: `inputs/${batchId}.`,
    folder: null,
  };
}

/** The staged keys of a new batch: a new run folder of its own. */
export function newStagedKeys(batchId: string, run: string = newRun()): StagedKeys {
  return runKeys(batchId, run);
}

/**
 * The staged keys of a batch whose spec names `inputKey`: its run folder, or the flat layout of batches staged
 * before run folders. Null when `inputKey` is neither (a key of another batch, or none of a batch's).
 */
export function stagedKeys(batchId: string, inputKey: string): StagedKeys | null {
  if (inputKey === layout.input(batchId)) return flatKeys(batchId);
  const prefix = `inputs/${batchId}/`;
  if (!inputKey.startsWith(prefix) || !inputKey.endsWith('/input.jsonl')) return null;
  const run = inputKey.slice(prefix.length, -'/input.jsonl'.length);
  return RUN.test(run) ? runKeys(batchId, run) : null;
}

/** The keys of every run folder of a batch id (`inputs/<batch>/r<...>/`): the id's alone, whatever other ids exist. */
export function runFolderKeys(batchId: string): { prefixes: string[]; owns(key: string): boolean } {
  return { prefixes: [`inputs/${batchId}/`], owns: (key) => runOf(batchId, key) !== null };
}

/**
 * The flat layout's keys of a batch id (batches staged before run folders), matched exactly. Only for a batch that was
 * staged so: in that layout alone, `inputs/a.ids.jsonl` is both batch `a`'s ids and batch `a.ids`'s input (two such
 * batches could not both be staged; a batch in a run folder never touches a flat key).
 */
export function flatStagedKeys(batchId: string): { prefixes: string[]; owns(key: string): boolean } {
  return { prefixes: [`inputs/${batchId}.`], owns: flatOwns(batchId) };
}

/**
 * Every staged key a batch id can have in either layout (each run folder of the id, and the flat layout). Only run
 * folders (`inputs/<batch>/r<...>/`) are taken under `inputs/<batch>/`: `inputs/a.work/` of a batch `a.work` is also
 * where the flat layout keeps batch `a`'s work folders (`inputs/a.work/0/`).
 */
export function everyStagedKey(batchId: string): { prefixes: string[]; owns(key: string): boolean } {
  const runs = runFolderKeys(batchId);
  const flat = flatStagedKeys(batchId);
  return { prefixes: [...runs.prefixes, ...flat.prefixes], owns: (key) => runs.owns(key) || flat.owns(key) };
}

/** The run folder name of `key` when it is a key of one of `batchId`'s run folders, else null. */
export function runOf(batchId: string, key: string): string | null {
  const folder = `inputs/${batchId}/`;
  if (!key.startsWith(folder)) return null;
  const rest = key.slice(folder.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return null;
  const run = rest.slice(0, slash);
  return RUN.test(run) ? run : null;
}

/** Whether a batch's staged input, as its record names it (a path or a URI), is in the flat layout (`inputs/<batch>.jsonl`). */
export function namesFlatInput(batchId: string, location: unknown): boolean {
  if (typeof location !== 'string') return false;
  const tail = layout.input(batchId);
  const slashed = location.split('\\').join('/');
  return slashed === tail || slashed.endsWith(`/${tail}`);
}

/**
 * Why a caller's own results folder (`resultsDir`, local store only) cannot be used, or null. It must be an absolute,
 * normalized path outside the store's folder and the worker's (or client's) ANYBATCH_HOME, where only anybatch's own
 * keys live (other batches' inputs and results, the secret key, the scratch cache), unless it is exactly this batch's
 * own results folder of the store. There, the worker writes only `output.jsonl`, `errors.jsonl`, `.parts/`,
 * `recovery.json` and `.recover/`, and `anybatch delete` removes only those.
 */
export function resultsDirProblem(dir: string, batchId: string, places: { storeRoot: string; home: string }): string | null {
  if (typeof dir !== 'string' || !path.isAbsolute(dir)) return `the results folder ${JSON.stringify(dir)} is not an absolute path`;
  if (path.resolve(dir) !== dir) return `the results folder ${dir} is not a normalized absolute path`;
  const roots = [
    { root: path.resolve(places.storeRoot), what: 'the store' },
    { root: path.resolve(places.home), what: 'ANYBATCH_HOME' },
  ];
  for (const { root, what } of roots) {
    if (dir === path.join(root, 'results', batchId)) continue;
    if (dir === root || dir.startsWith(root + path.sep)) {
      return `the results folder ${dir} is inside ${what} (${root}), where only anybatch's own keys live: give a folder outside it`;
    }
  }
  return null;
}
