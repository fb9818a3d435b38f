/**
 * Vertex's resource ids are 19-digit numbers (`batchPredictionJobs/1234567890123456789`), and @google/genai's
 * `batches.get` and `cancel` take a bare id only when it is all digits (`tBatchJobName`; docs/provider-apis-3.md
 * section 2), so the sandbox issues the same: random, never starting with 0.
 */
import { randomBytes } from 'node:crypto';

const SPAN = 9_000_000_000_000_000_000n;
const FLOOR = 1_000_000_000_000_000_000n;

/** A fresh 19-digit id that `taken` does not already know. */
export function newNumericId(taken: (id: string) => boolean = () => false): string {
  for (;;) {
    const id = ((randomBytes(8).readBigUInt64BE() % SPAN) + FLOOR).toString();
    if (!taken(id)) return id;
  }
}
