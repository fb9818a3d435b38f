/**
 * The `dashscope` module: Alibaba Model Studio's OpenAI-compatible batch API at `/dashscope/compatible-mode/v1`
 * (the path DashScope serves it at), the OpenAI emulation with its rules (provider-apis-3.md section 3;
 * https://docs.qwencloud.com/developer-guides/text-generation/batch): a `completion_window` of any whole hours from
 * `24h` to `336h` (14 days), one model per file, 50,000 requests and 500 MB per file (the catalog's limits).
 */
import { authenticateBearer } from '../openai/auth';
import type { OpenAIDialect } from '../openai/dialect';
import { sendOpenAIError } from '../openai/errors';
import { newRequestId } from '../openai/ids';
import { openAICompatibleModule } from '../openai/module';

const MB = 1024 * 1024;
const HOUR_S = 3600;

/** `24h` to `336h`, in whole hours. */
export function dashscopeWindowSeconds(value: string): number | null {
  const match = /^([1-9]\d{0,3})h$/.exec(value);
  if (!match) return null;
  const hours = Number(match[1]);
  return hours >= 24 && hours <= 336 ? hours * HOUR_S : null;
}

export const DASHSCOPE: OpenAIDialect = {
  name: 'dashscope',
  basePath: '/compatible-mode/v1',
  apiRoots: ['/compatible-mode/v1'],
  // The catalog (src/providers/dashscope/limits.ts) lists DashScope: these are only its fallback.
  limits: { maxRequestsPerBatch: 50_000, maxBytesPerBatch: 500 * MB, requiresSingleModel: true, metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 } },
  completionWindow: { seconds: dashscopeWindowSeconds, accepted: "Supported values are whole hours from '24h' to '336h'." },
  batchList: 'paged',
  shuffleResults: false,
  authenticate: (req, _path, _url, expected) => authenticateBearer(req, expected),
  sendError: (res, err) => sendOpenAIError(res, err),
  requestIds: { headers: ['x-request-id'], next: newRequestId },
};

export const dashscope = openAICompatibleModule(DASHSCOPE);
