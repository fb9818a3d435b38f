/** The order of a results file: a seeded permutation, so consumers must join on custom_id, not position. */
import { createHash } from 'node:crypto';
import { mulberry32 } from '../faults';

/**
 * Sattolo's algorithm: a uniformly random single cycle, so no request keeps its input position and a batch
 * of two or more never comes back in input order. Seeded by the batch id, so every read agrees.
 */
export function resultOrder(total: number, seed: string): Uint32Array {
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  const random = mulberry32(createHash('sha256').update(seed).digest().readUInt32LE(0));
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(random() * i);
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  return order;
}
