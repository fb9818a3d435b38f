/**
 * A job's input records (docs/provider-apis-3.md §1, "Input records"): a JSON object a line,
 * `{"recordId": "<alnum>", "modelInput": {...}}`, and Bedrock adds the `recordId` of a record that has none (11
 * characters, like the doc's "CALL0000001"). Validation fails the whole job for a line that is not a JSON object or
 * has no `modelInput` object; it does not check `modelInput` against the model's body, which fails record by record
 * when the job runs (AWS's status list: "each individual record is a JSON object in the correct format. Note that
 * validation doesn't check if the modelInput value matches the request body for the model").
 */
import { createHash } from 'node:crypto';
import { isPlainObject } from '../../kernel/http';

export interface InputRecord {
  recordId: string;
  modelInput: Record<string, unknown>;
}

/** Where a line is, for validation messages. */
export interface LineAt {
  uri: string;
  line: number;
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const RECORD_ID_LENGTH = 11;

/** The id Bedrock gives a record without one: 11 uppercase alphanumerics, stable for the same parts. */
export function generatedRecordId(...parts: Array<string | number>): string {
  const digest = createHash('sha256').update(['bedrock-record', ...parts].join('\u0000')).digest();
  let id = '';
  for (let i = 0; i < RECORD_ID_LENGTH; i++) id += ID_CHARS[digest[i] % ID_CHARS.length];
  return id;
}

/** One line of an input file as a record, or why validation refuses it (the job's failure message). */
export function parseRecordLine(text: string, at: LineAt, idIfMissing: () => string): InputRecord | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: `Line ${at.line} of ${at.uri} is not valid JSON. Each line of a batch inference input file must be a JSON object.` };
  }
  if (!isPlainObject(parsed)) return { problem: `Line ${at.line} of ${at.uri} is not a JSON object. Each line must be {"recordId": ..., "modelInput": {...}}.` };
  if (!isPlainObject(parsed.modelInput)) return { problem: `The record on line ${at.line} of ${at.uri} has no modelInput object.` };
  const { recordId } = parsed;
  if (recordId !== undefined && typeof recordId !== 'string') return { problem: `The recordId on line ${at.line} of ${at.uri} is not a string.` };
  return { recordId: recordId === undefined || recordId === '' ? idIfMissing() : recordId, modelInput: parsed.modelInput };
}
