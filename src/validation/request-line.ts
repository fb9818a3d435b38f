/**
 * The shape of one request line: OpenAI's `{custom_id, method, url, body}` (batch format), or a provider's native
 * line (Anthropic's `{custom_id, params}` for `/v1/messages`), as the provider's capabilities say (`LineShape`).
 * Pure: cross-line rules live in the scan.
 */
import { isUtf8 } from 'node:buffer';
import { OPENAI_LINE, type LineShape } from '../providers/catalog';
import { describeKind, quote } from './format';

export interface LineProblem {
  field?: string;
  message: string;
}

export interface CheckedLine {
  /** Present when the line has a usable custom_id, even if other fields are wrong (duplicates still count). */
  customId?: string;
  model?: string;
  /** The request body (`body` or `params`) when it is an object, for provider-specific checks. */
  payload?: JsonObject;
  problems: LineProblem[];
}

type JsonObject = Record<string, unknown>;

export function checkRequestLine(bytes: Buffer, endpoint: string, shape: LineShape = OPENAI_LINE): CheckedLine {
  if (!isUtf8(bytes)) return { problems: [{ message: 'not valid UTF-8' }] };
  const parsed = parseJson(bytes, shape.payload);
  if ('reason' in parsed) return { problems: [{ message: `not valid JSON: ${parsed.reason}` }] };
  const value = parsed.value;
  if (!isObject(value)) return { problems: [{ message: `must be a JSON object, got ${describeKind(value)}` }] };

  const problems: LineProblem[] = [];
  const customId = checkCustomId(value.custom_id, problems);
  const field = shape.payload;
  if (shape.envelope) checkEnvelope(value, endpoint, problems);
  const hint = shape.envelope ? '' : ` (${endpoint} lines are ${shape.shape})`;
  const model = checkPayload(value[field], field, hint, problems);
  const payload = isObject(value[field]) ? (value[field] as JsonObject) : undefined;
  return { customId, model, payload, problems };
}

function checkCustomId(id: unknown, problems: LineProblem[]): string | undefined {
  if (typeof id === 'string' && id.length > 0) return id;
  const message =
    id === undefined
      ? 'custom_id is missing'
      : id === ''
        ? 'custom_id is empty'
        : `custom_id must be a string, got ${describeKind(id)}`;
  problems.push({ field: 'custom_id', message });
  return undefined;
}

function checkEnvelope(line: JsonObject, endpoint: string, problems: LineProblem[]): void {
  if (line.method !== 'POST') {
    const got = line.method === undefined ? 'it is missing' : `got ${show(line.method)}`;
    problems.push({ field: 'method', message: `method must be "POST", ${got}` });
  }
  if (line.url !== endpoint) {
    const got = line.url === undefined ? 'it is missing' : `got ${show(line.url)}`;
    problems.push({ field: 'url', message: `url must be the batch endpoint ${quote(endpoint)}, ${got}` });
  }
}

function checkPayload(payload: unknown, field: string, hint: string, problems: LineProblem[]): string | undefined {
  if (payload === undefined) {
    problems.push({ field, message: `${field} is missing${hint}` });
    return undefined;
  }
  if (!isObject(payload)) {
    problems.push({ field, message: `${field} must be an object, got ${describeKind(payload)}` });
    return undefined;
  }
  const model = payload.model;
  const validModel = typeof model === 'string' && model.length > 0;
  if (!validModel) {
    const message =
      model === undefined ? `${field}.model is missing` : `${field}.model must be a non-empty string, got ${show(model)}`;
    problems.push({ field: `${field}.model`, message });
  }
  if (payload.stream === true) {
    problems.push({ field: `${field}.stream`, message: 'stream: true is not allowed in a batch' });
  }
  return validModel ? model : undefined;
}

/**
 * Parses a valid UTF-8 line, first as latin1 (one char per byte): that parses over twice as fast and gives
 * the same structure and validity, since multi-byte UTF-8 sequences hold no ASCII bytes. Only non-ASCII
 * strings come out different, so a line whose fields read here are not plain ASCII is parsed again as UTF-8.
 */
function parseJson(bytes: Buffer, payloadField: string): { value: unknown } | { reason: string } {
  try {
    const value: unknown = JSON.parse(bytes.toString('latin1'));
    if (!readsNonAscii(value, payloadField)) return { value };
  } catch {
    // Parsed again below, so that the reason quotes the real characters.
  }
  try {
    return { value: JSON.parse(bytes.toString('utf8')) };
  } catch (error) {
    return { reason: parserReason(error) };
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Whether a string field this module reads or quotes holds non-ASCII text. */
function readsNonAscii(line: unknown, payloadField: string): boolean {
  if (!isObject(line)) return false;
  const payload = line[payloadField];
  return isNonAscii(line.custom_id) || isNonAscii(line.method) || isNonAscii(line.url) || (isObject(payload) && isNonAscii(payload.model));
}

function isNonAscii(value: unknown): boolean {
  return typeof value === 'string' && NON_ASCII.test(value);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Strings quoted, anything else named by kind: enough to recognise the value without echoing a large one. */
function show(value: unknown): string {
  return typeof value === 'string' ? quote(value) : describeKind(value);
}

/** V8's reason without the echoed snippet of the line, e.g. `Unexpected token '}'` or `... at position 6`. */
function parserReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // V8's wording differs by Node version: Node 22+ adds "(line 1 column 18)", which names the line within the
  // request (always 1) and would contradict the file line anybatch reports; the position says where.
  return message
    .replace(/, .* is not valid JSON$/s, '')
    .replace(' in JSON at position', ' at position')
    .replace(/ \(line \d+ column \d+\)$/, '');
}
