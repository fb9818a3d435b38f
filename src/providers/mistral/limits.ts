/** Mistral's batch capabilities and limits (docs/provider-apis-2.md section 2; pure data: the catalog and the sandbox read it). */
import type { LineShape, ProviderCapabilities } from '../capabilities';
import { CREATE_ONLY_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

/**
 * The endpoints anybatch types results for (src/results/types.ts) that Mistral batches also serve. Mistral's own
 * (`/v1/fim/completions`, `/v1/ocr`, `/v1/classifications`, ...) need result types first.
 */
export const MISTRAL_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings', '/v1/moderations'] as const;

/**
 * Mistral's own line is `{custom_id, body}`; OpenAI's `{custom_id, method, url, body}` is accepted too (method and
 * url are dropped; the adapter refuses a url that is not the batch endpoint). Either way `body.model` is required
 * and the same on every line: it becomes the job's `model`.
 */
const MISTRAL_LINE: LineShape = { payload: 'body', envelope: false, shape: '{"custom_id", "body"} (or OpenAI\'s {"custom_id", "method", "url", "body"})' };

/** `timeout_hours` in whole days up to a week (Mistral's default is 24; its maximum is not documented). */
const WINDOWS = ['24h', '48h', '72h', '96h', '120h', '144h', '168h', '1d', '2d', '3d', '4d', '5d', '6d', '7d'];

export const MISTRAL_LIMITS = {
  name: 'mistral',
  endpoints: MISTRAL_ENDPOINTS,
  // One model per job, set at job level.
  requiresSingleModel: true,
  maxRequestsPerBatch: 1_000_000,
  // Mistral's file upload limit (512 MB per file).
  maxBytesPerBatch: 512 * MB,
  completionWindows: WINDOWS,
  // Jobs carry string metadata; Mistral documents no limits, so OpenAI's are assumed.
  metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 },
  nativeLines: Object.fromEntries(MISTRAL_ENDPOINTS.map((e) => [e, MISTRAL_LINE])),
  // No documented longest result line. Embeddings batches return many vectors a line (written as JSON text), so the
  // bound is OpenAI's 256 MiB rather than the 64 MiB default.
  maxResultLineBytes: 256 * MB,
  failures: CREATE_ONLY_FAILURE_CODES,
  pricing: { dataset: 'mistral', batchDiscount: { discount: 0.5, source: 'https://docs.mistral.ai/capabilities/batch/ (50% lower cost)' } },
} satisfies ProviderCapabilities<'mistral'>;

/** `24h` -> 24, `2d` -> 48; null for anything that is not a window. */
export function timeoutHours(window: string): number | null {
  const m = /^([1-9]\d{0,2})([hd])$/.exec(window);
  if (!m) return null;
  const hours = Number(m[1]) * (m[2] === 'd' ? 24 : 1);
  return hours >= 1 && hours <= 168 ? hours : null;
}
