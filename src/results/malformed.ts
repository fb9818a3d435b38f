/**
 * A provider result line that cannot be read costs only its own request, never the download: the adapters read
 * results with `readJsonLines(..., { malformed: 'report' })` and turn each `MalformedLine` into a `malformed_result`
 * error line for its request when its custom_id can be found in the line's first bytes. When it cannot, the line is
 * skipped and the writer gives that request the "no result" error line it gives every request the provider did not
 * report (`missingOutcome`), so each custom_id is still accounted for exactly once.
 */
import { createHash } from 'node:crypto';
import type { ProviderCapabilities } from '../providers/capabilities';
import type { ResultLine } from '../providers/types';
import type { MalformedLine } from './jsonl';

/** The error code of a request whose result line could not be read. */
export const MALFORMED_RESULT = 'malformed_result';

/**
 * The result line bound of a provider that states none (`maxResultLineBytes`). No provider documents a longest
 * result line; 64 MiB is far above a chat completion at the largest output limits (a few MB), and low enough that
 * the line, its string and its parsed object fit a worker's memory.
 */
export const DEFAULT_MAX_RESULT_LINE_BYTES = 64 * 1024 * 1024;

/** The longest result line anybatch reads from a provider, in bytes. */
export function maxResultLineBytes(capabilities: ProviderCapabilities): number {
  return capabilities.maxResultLineBytes ?? DEFAULT_MAX_RESULT_LINE_BYTES;
}

/** Characters of an unreadable line quoted in its error message: enough to recognise it, not its content. */
const PREFIX_CHARS = 40;

/** Longest custom_id looked for (the head is at most `LINE_HEAD_BYTES` anyway). */
const MAX_ID_CHARS = 512;

/**
 * The custom_id of an unreadable line, from its first bytes: the first `"<field>": "<string>"` in them, unescaped.
 * Null when there is none, or when the head ends inside it (a cut-off id is never guessed at). A field name inside a
 * JSON string is escaped (`\"custom_id\"`), so text a model wrote does not match.
 */
export function recoverCustomId(head: Buffer, field = 'custom_id'): string | null {
  const pattern = new RegExp(`"${field}"\\s*:\\s*"((?:[^"\\\\\\u0000-\\u001f]|\\\\.){1,${MAX_ID_CHARS}})"`);
  const match = pattern.exec(head.toString('utf8'));
  if (!match) return null;
  try {
    const id: unknown = JSON.parse(`"${match[1]}"`);
    return typeof id === 'string' && id !== '' ? id : null;
  } catch {
    return null;
  }
}

export interface MalformedResultOptions {
  /** The provider's name in messages: "OpenAI". */
  provider: string;
  /** The field holding the request's id in the provider's lines (default `custom_id`; Gemini's is `key`). */
  idField?: string;
  /** The caller's custom_id for the provider's (e.g. Anthropic's remapped ids); absent: the same. */
  originalId?: (providerId: string) => string | undefined;
  /** The bound the line went over, named in the message of a `too_long` line. */
  maxLineBytes?: number;
}

function startOf(head: Buffer): string {
  const text = head.toString('utf8');
  return JSON.stringify(text.length > PREFIX_CHARS ? `${text.slice(0, PREFIX_CHARS)}…` : text);
}

/**
 * The error line of an unreadable result line, for the request whose custom_id its first bytes name; null when they
 * name none (the request then gets the writer's "no result" line). The message names the provider, the file and the
 * line, and quotes only the line's first characters.
 */
export function malformedResultLine(bad: MalformedLine, opts: MalformedResultOptions): ResultLine | null {
  const providerId = recoverCustomId(bad.head, opts.idField);
  if (providerId === null) return null;
  const customId = opts.originalId?.(providerId) ?? providerId;
  const what =
    bad.reason === 'too_long'
      ? `is longer than ${opts.maxLineBytes === undefined ? 'anybatch reads' : `the ${opts.maxLineBytes}-byte bound`} (${bad.bytes} bytes read)`
      : bad.reason === 'not_object'
        ? 'is not a JSON object'
        : 'is not valid JSON';
  return {
    // The same line gets the same id on a retried download.
    id: 'batch_req_' + createHash('sha256').update(`${bad.source}\0${bad.line}`).digest('hex').slice(0, 24),
    custom_id: customId,
    response: null,
    error: {
      code: MALFORMED_RESULT,
      message: `${opts.provider} result ${bad.source}, line ${bad.line} ${what} (it starts ${startOf(bad.head)}); this request's result could not be read.`,
    },
  };
}
