/**
 * The `groq` module: Groq's OpenAI-compatible batch API at `/groq/openai/v1`, the OpenAI emulation with Groq's
 * differences (provider-apis-2.md §7): `completion_window` from `24h` to `7d`, 100 MB files, a batch list
 * without parameters or `has_more`, `req_01…` request ids, and no one-model rule (as the catalog has it). `files.info` (groq-sdk) is `GET /files/{id}`, as
 * `files.retrieve` is, so the `openai` SDK with this base URL and groq-sdk are both served unchanged.
 */
import { randomBytes } from 'node:crypto';
import type { OpenAIDialect } from '../openai/dialect';
import { authenticateBearer } from '../openai/auth';
import { sendOpenAIError } from '../openai/errors';
import { openAICompatibleModule } from '../openai/module';

const MB = 1024 * 1024;
const HOUR_S = 3600;
const WINDOW_S = { min: 24 * HOUR_S, max: 7 * 24 * HOUR_S };

/** `24h` to `7d`, in hours or days (`24h`, `48h`, `2d`, `7d`). */
export function groqWindowSeconds(value: string): number | null {
  const match = /^([1-9]\d{0,3})([hd])$/.exec(value);
  if (!match) return null;
  const seconds = Number(match[1]) * (match[2] === 'h' ? HOUR_S : 24 * HOUR_S);
  return seconds >= WINDOW_S.min && seconds <= WINDOW_S.max ? seconds : null;
}

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** `req_01` and 24 more ULID characters, as Groq's `x-request-id`s look. */
function newGroqRequestId(): string {
  let out = 'req_01';
  for (const b of randomBytes(24)) out += CROCKFORD[b % CROCKFORD.length];
  return out;
}

export const GROQ: OpenAIDialect = {
  name: 'groq',
  basePath: '/openai/v1',
  apiRoots: ['/openai/v1'],
  limits: { maxRequestsPerBatch: 50_000, maxBytesPerBatch: 100 * MB, requiresSingleModel: false, metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 } },
  completionWindow: {
    seconds: groqWindowSeconds,
    accepted: "Supported values are durations from '24h' to '7d' (for example '24h', '48h', '7d').",
  },
  batchList: 'all',
  shuffleResults: false,
  authenticate: (req, _path, _url, expected) => authenticateBearer(req, expected),
  sendError: (res, err) => sendOpenAIError(res, err),
  requestIds: { headers: ['x-request-id'], next: newGroqRequestId },
};

export const groq = openAICompatibleModule(GROQ);
