/**
 * Where each piece of a batch lives in the blob store: the one place that names the keys (pure; no I/O).
 * The layout is today's ANYBATCH_HOME layout, so the local folder store keeps every file where it always was:
 *
 * - `inputs/<batch>.jsonl`: the validated, staged input (written by the client while it validates);
 * - `inputs/<batch>.ids.jsonl`: its custom_ids, one JSON string a line, in input order (to account for every
 *   request even when the staged input is gone);
 * - `inputs/<batch>.part-<i>.jsonl`: part `i` of an input split across several provider batches;
 * - `inputs/<batch>.work/<i>/<name>`: what the provider adapter keeps for part `i` (translations, id maps, create
 *   markers);
 * - `results/<batch>/output.jsonl`, `results/<batch>/errors.jsonl`: the merged results;
 * - `results/<batch>/.parts/<i>.output.jsonl`, `.errors.jsonl`: one part's results before the merge;
 * - `results/<batch>/recovery.json`: the parts given up, kept for `anybatch recover` (src/contract/recovery.ts), and
 *   `results/<batch>/.recover/`: a recovery's staged rewrite of the merged files.
 */

import type { StorageRef } from '../contract/storage';

export type { StorageRef };

export const layout = {
  input: (batchId: string): string => `inputs/${batchId}.jsonl`,
  inputIds: (batchId: string): string => `inputs/${batchId}.ids.jsonl`,
  part: (batchId: string, index: number): string => `inputs/${batchId}.part-${index}.jsonl`,
  work: (batchId: string, index: number): string => `inputs/${batchId}.work/${index}/`,
  /** Every staged key of a batch starts with one of these (for deleting a batch's inputs). */
  inputPrefixes: (batchId: string): string[] => [`inputs/${batchId}.`],
  results: (batchId: string): string => `results/${batchId}/`,
  output: (resultsPrefix: string): string => `${resultsPrefix}output.jsonl`,
  errors: (resultsPrefix: string): string => `${resultsPrefix}errors.jsonl`,
  partOutput: (resultsPrefix: string, index: number): string => `${resultsPrefix}.parts/${index}.output.jsonl`,
  partErrors: (resultsPrefix: string, index: number): string => `${resultsPrefix}.parts/${index}.errors.jsonl`,
  recovery: (resultsPrefix: string): string => `${resultsPrefix}recovery.json`,
  recoverScratch: (resultsPrefix: string): string => `${resultsPrefix}.recover/`,
} as const;
