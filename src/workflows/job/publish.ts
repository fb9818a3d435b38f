/**
 * The batch's search attributes, bounded whatever the number of parts: Temporal refuses a value over 2 KB (and
 * terminates the workflow that sent it), so the provider batch id list holds the first ids that fit in
 * `MAX_IDS_BYTES`, and `AnybatchParts` counts them all. Every number is a safe integer. Pure.
 */
import type { SearchAttributePair } from '@temporalio/common';
import type { AnybatchBatch } from '../../contract/batch';
import {
  BATCH_COMPLETED,
  BATCH_COST_USD,
  BATCH_CREATED_AT,
  BATCH_FAILED,
  BATCH_PARTS,
  BATCH_PROVIDER,
  BATCH_PROVIDER_IDS,
  BATCH_STATUS,
  BATCH_TOTAL,
} from '../../contract/search-attributes';
import type { BatchSpec } from '../../contract/spec';
import { utf8Length } from '../bounded-view';
import { safeCount } from './view';

/** Bytes of provider batch ids in the keyword list (Temporal's limit per value is 2,048, JSON quotes included). */
export const MAX_IDS_BYTES = 1_500;
/** Longest single id kept (a provider id longer than this is not one anyone filters by). */
const MAX_ID_LENGTH = 255;

/** The first provider batch ids whose JSON encoding stays within `MAX_IDS_BYTES`. */
export function boundedIds(ids: readonly string[]): string[] {
  const kept: string[] = [];
  let bytes = 2; // []
  for (const id of ids) {
    if (id.length > MAX_ID_LENGTH) continue;
    const size = utf8Length(JSON.stringify(id)) + 1;
    if (bytes + size > MAX_IDS_BYTES) break;
    kept.push(id);
    bytes += size;
  }
  return kept;
}

export function searchAttributesOf(spec: BatchSpec, batch: AnybatchBatch, parts: number): SearchAttributePair[] {
  const cost = batch.anybatch.cost?.total;
  return [
    { key: BATCH_STATUS, value: batch.status },
    { key: BATCH_PROVIDER, value: spec.provider },
    { key: BATCH_TOTAL, value: safeCount(batch.request_counts?.total) },
    { key: BATCH_COMPLETED, value: safeCount(batch.request_counts?.completed) },
    { key: BATCH_FAILED, value: safeCount(batch.request_counts?.failed) },
    { key: BATCH_CREATED_AT, value: new Date(safeCount(spec.createdAt) * 1000) },
    { key: BATCH_PROVIDER_IDS, value: boundedIds(batch.anybatch.provider_batches.map((b) => b.id)) },
    { key: BATCH_PARTS, value: safeCount(parts) },
    ...(typeof cost === 'number' && Number.isFinite(cost) ? [{ key: BATCH_COST_USD, value: cost }] : []),
  ] as SearchAttributePair[];
}
