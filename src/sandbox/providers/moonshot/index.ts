/**
 * The `moonshot` module: Moonshot's (Kimi) batch API at `/moonshot/v1`, the OpenAI emulation with its rules
 * (provider-apis-3.md section 3; https://platform.kimi.ai/docs/api/batch-create): a `completion_window` from `12h` to
 * `7d` (in hours or days), one model per file, 100 MB per file (the catalog's limits), the cursor list (`after`,
 * `has_more`).
 */
import { authenticateBearer } from '../openai/auth';
import type { OpenAIDialect } from '../openai/dialect';
import { sendOpenAIError } from '../openai/errors';
import { newRequestId } from '../openai/ids';
import { openAICompatibleModule } from '../openai/module';

const MB = 1024 * 1024;
const HOUR_S = 3600;

/** `12h` to `7d`, in whole hours or days (`12h`, `24h`, `1d`, `3d`, `7d`). */
export function moonshotWindowSeconds(value: string): number | null {
  const match = /^([1-9]\d{0,3})([hd])$/.exec(value);
  if (!match) return null;
  const seconds = Number(match[1]) * (match[2] === 'h' ? HOUR_S : 24 * HOUR_S);
  return seconds >= 12 * HOUR_S && seconds <= 7 * 24 * HOUR_S ? seconds : null;
}

export const MOONSHOT: OpenAIDialect = {
  name: 'moonshot',
  basePath: '/v1',
  apiRoots: ['/v1'],
  // The catalog (src/providers/moonshot/limits.ts) lists Moonshot: these are only its fallback.
  limits: { maxRequestsPerBatch: 50_000, maxBytesPerBatch: 100 * MB, requiresSingleModel: true, metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 } },
  completionWindow: { seconds: moonshotWindowSeconds, accepted: "Supported values are durations from '12h' to '7d' (for example '12h', '1d', '3d')." },
  batchList: 'paged',
  shuffleResults: false,
  authenticate: (req, _path, _url, expected) => authenticateBearer(req, expected),
  sendError: (res, err) => sendOpenAIError(res, err),
  requestIds: { headers: ['x-request-id'], next: newRequestId },
};

export const moonshot = openAICompatibleModule(MOONSHOT);
