/**
 * The parts a client cut while it validated and staged an input (one pass: src/validation), kept beside the staged
 * input as `plan.json` in the batch's run folder. The worker plans from it without reading the input, and each part is
 * a byte range of the staged input (src/storage/part-range.ts), read once, to upload it.
 *
 * The plan is only a shortcut: the worker uses it when it was cut by the limits the worker would split by itself and
 * it tiles the staged input exactly (contiguous ranges, every request, every byte); otherwise, or when it is missing
 * or unreadable, the worker splits the staged input as before. So a plan from another version, or one altered in the
 * store, can at worst cost the worker a split; it never names bytes outside the batch's own staged input.
 */
import type { PartRange, SplitLimits } from '../results/split';
import { objectChunks } from '../results/blob-writer';
import { BlobNotFoundError } from './errors';
import type { BlobStore } from './types';

const FORMAT = 'anybatch.plan/1';
/** A plan is small (a few numbers a part); a bigger object is not one. */
const MAX_PLAN_BYTES = 4 << 20;

/** The limits a plan was cut by, as JSON can hold them. */
interface PlanLimits {
  maxRequests: number | null;
  maxBytes: number | null;
  minRequests: number | null;
  /** `lines`: each line costs its bytes and newline; `provider`: the provider's own measure (after translation). */
  measured: 'lines' | 'provider';
}

interface PlanObject {
  format: string;
  requestCount: number;
  bytes: number;
  limits: PlanLimits;
  /** `[requestCount, start, bytes]` a part. */
  parts: Array<[number, number, number]>;
}

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

function planLimits(limits: SplitLimits): PlanLimits {
  return {
    maxRequests: finite(limits.maxRequests),
    maxBytes: finite(limits.maxBytes),
    minRequests: limits.minRequests ?? null,
    measured: limits.sentBytes ? 'provider' : 'lines',
  };
}

/**
 * Whether parts cut in one pass are the worker's parts: not when the provider has a minimum per batch and the input
 * needs several parts (the worker then cuts even parts, which needs the count first: src/results/split.ts).
 */
export function planUsable(limits: SplitLimits, parts: PartRange[]): boolean {
  return parts.length > 0 && (limits.minRequests === undefined || parts.length === 1);
}

/** The plan's bytes, to put at the batch's `plan` key. */
export function encodeInputPlan(limits: SplitLimits, parts: PartRange[], totals: { requestCount: number; bytes: number }): Buffer {
  const plan: PlanObject = {
    format: FORMAT,
    requestCount: totals.requestCount,
    bytes: totals.bytes,
    limits: planLimits(limits),
    parts: parts.map((p) => [p.requestCount, p.start, p.bytes]),
  };
  return Buffer.from(JSON.stringify(plan));
}

/**
 * The plan's parts when they are the ones the worker would cut: same limits, and ranges that tile the staged input of
 * `bytes` bytes and `requestCount` requests exactly. Null otherwise (the caller splits the input itself).
 */
export function decodeInputPlan(text: string, limits: SplitLimits, staged: { requestCount: number; bytes: number }): PartRange[] | null {
  let plan: PlanObject;
  try {
    plan = JSON.parse(text) as PlanObject;
  } catch {
    return null;
  }
  if (plan === null || typeof plan !== 'object' || plan.format !== FORMAT || !Array.isArray(plan.parts)) return null;
  const want = planLimits(limits);
  const got = plan.limits ?? ({} as PlanLimits);
  if (got.maxRequests !== want.maxRequests || got.maxBytes !== want.maxBytes || got.minRequests !== want.minRequests || got.measured !== want.measured) return null;
  if (plan.requestCount !== staged.requestCount || plan.bytes !== staged.bytes) return null;
  const parts: PartRange[] = [];
  let at = 0;
  let requests = 0;
  for (const entry of plan.parts) {
    if (!Array.isArray(entry) || entry.length !== 3 || !entry.every((n) => Number.isSafeInteger(n))) return null;
    const [requestCount, start, bytes] = entry;
    if (start !== at || bytes < 1 || requestCount < 1 || requestCount > limits.maxRequests) return null;
    // Measured as lines, a part's bytes are what is sent: the limit can be checked here too.
    if (!limits.sentBytes && bytes > limits.maxBytes) return null;
    parts.push({ requestCount, start, bytes });
    at += bytes;
    requests += requestCount;
  }
  if (at !== staged.bytes || requests !== staged.requestCount || !planUsable(limits, parts)) return null;
  return parts;
}

/** Reads the plan at `key` (one GET): its text, or null when there is none (or it is too big to be one). */
export async function readInputPlan(store: BlobStore, key: string): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of objectChunks(store, key)) {
      size += chunk.length;
      if (size > MAX_PLAN_BYTES) return null;
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    if (err instanceof BlobNotFoundError) return null;
    throw err;
  }
  return Buffer.concat(chunks).toString('utf8');
}
