/** Content of one OpenAI message -> Gemini parts (text, inline data, file data, function calls and responses). */
import type { Part } from './types';
import { RequestMappingError, Warnings, isObject, isSet, kindOf, requireObject, requireString } from './request-support';

/** Image types Gemini reads (its image-understanding guide); a data: URL of another type is refused. */
export const IMAGE_MIME_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif'] as const;

/** The mime type sent with an http(s) image URL, by the path's extension; anything else is sent as `image/jpeg`. */
const IMAGE_EXTENSIONS: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jpe: 'image/jpeg',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
};
export const DEFAULT_URL_IMAGE_MIME_TYPE = 'image/jpeg';

/** OpenAI `input_audio.format` -> mime type. */
const AUDIO_FORMATS: Record<string, string> = { wav: 'audio/wav', mp3: 'audio/mp3' };

/** `file.filename` extension -> mime type, for `file_data` sent as bare base64 rather than a data: URL. */
const FILE_EXTENSIONS: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  md: 'text/markdown',
  html: 'text/html',
  csv: 'text/csv',
  xml: 'text/xml',
  ...IMAGE_EXTENSIONS,
};

/**
 * Sent as the `thoughtSignature` of replayed function calls that carry none (calls written by hand or by another
 * model). Gemini 3 refuses a history whose function calls have no signature; its thought-signatures guide gives
 * this value for exactly this case, and earlier models ignore the field.
 */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

function extension(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot < 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** `data:<mime>[;...];base64,<data>` -> its parts (indexOf, not a regex: the payload can be megabytes). */
function parseDataUrl(url: string, field: string): { mimeType: string; data: string } {
  const comma = url.indexOf(',');
  const header = comma < 0 ? '' : url.slice(5, comma).toLowerCase();
  const [mimeType, ...params] = header.split(';');
  if (comma < 0 || !params.includes('base64') || mimeType === '') {
    throw new RequestMappingError(field, `${field} must be a base64 data: URL (data:<media type>;base64,<data>)`);
  }
  return { mimeType, data: url.slice(comma + 1) };
}

/** A data: URL becomes inline data; an http(s) URL file data that Gemini fetches (public and signed URLs). */
export function imagePart(url: string, field: string): Part {
  if (/^https?:\/\//i.test(url)) {
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      throw new RequestMappingError(field, `${field} is not a valid URL`);
    }
    return { fileData: { fileUri: url, mimeType: IMAGE_EXTENSIONS[extension(path)] ?? DEFAULT_URL_IMAGE_MIME_TYPE } };
  }
  if (!url.startsWith('data:')) throw new RequestMappingError(field, `${field} must be a data: URL or an http(s) URL`);
  const { mimeType, data } = parseDataUrl(url, field);
  if (!(IMAGE_MIME_TYPES as readonly string[]).includes(mimeType)) {
    throw new RequestMappingError(field, `image media type ${JSON.stringify(mimeType)} is not supported by Gemini; use one of ${IMAGE_MIME_TYPES.join(', ')}`);
  }
  return { inlineData: { mimeType, data } };
}

function audioPart(part: Record<string, unknown>, field: string): Part {
  const audio = requireObject(part.input_audio, `${field}.input_audio`);
  const data = requireString(audio.data, `${field}.input_audio.data`);
  const format = requireString(audio.format, `${field}.input_audio.format`);
  const mimeType = AUDIO_FORMATS[format];
  if (!mimeType) {
    throw new RequestMappingError(`${field}.input_audio.format`, `audio format ${JSON.stringify(format)} is not supported (use wav or mp3)`);
  }
  return { inlineData: { mimeType, data } };
}

function filePart(part: Record<string, unknown>, field: string): Part {
  const file = requireObject(part.file, `${field}.file`);
  if (isSet(file.file_id)) {
    throw new RequestMappingError(`${field}.file.file_id`, 'OpenAI file ids cannot be sent to Gemini; put the file inline as file.file_data (a base64 data: URL)');
  }
  const data = requireString(file.file_data, `${field}.file.file_data`);
  if (data.startsWith('data:')) return { inlineData: parseDataUrl(data, `${field}.file.file_data`) };
  const filename = isSet(file.filename) ? requireString(file.filename, `${field}.file.filename`) : '';
  const mimeType = FILE_EXTENSIONS[extension(filename)];
  if (!mimeType) {
    throw new RequestMappingError(
      `${field}.file.file_data`,
      `${field}.file.file_data must be a base64 data: URL (data:<media type>;base64,<data>) when file.filename does not tell the type`,
    );
  }
  return { inlineData: { mimeType, data } };
}

/** Gemini refuses empty text parts, so an empty string contributes nothing. */
function textOf(text: string): Part[] {
  return text === '' ? [] : [{ text }];
}

function textPart(raw: unknown, field: string): string {
  const part = requireObject(raw, field);
  if (part.type !== 'text') {
    throw new RequestMappingError(`${field}.type`, `${field}.type must be "text" here, got ${JSON.stringify(part.type)}`);
  }
  return requireString(part.text, `${field}.text`);
}

/** The texts of a system, developer or tool message: a string, or text parts. */
export function texts(content: unknown, field: string): string[] {
  if (typeof content === 'string') return [content];
  if (Array.isArray(content)) return content.map((part, i) => textPart(part, `${field}[${i}]`));
  throw new RequestMappingError(field, `${field} must be a string or an array of text parts, got ${kindOf(content)}`);
}

function userPart(raw: unknown, field: string, warnings: Warnings): Part[] {
  const part = requireObject(raw, field);
  switch (part.type) {
    case 'text':
      return textOf(textPart(part, field));
    case 'image_url': {
      const image = requireObject(part.image_url, `${field}.image_url`);
      if (isSet(image.detail) && image.detail !== 'auto') {
        warnings.add('body.messages[].content[].image_url.detail', 'no Gemini equivalent in a batch request; dropped');
      }
      return [imagePart(requireString(image.url, `${field}.image_url.url`), `${field}.image_url.url`)];
    }
    case 'input_audio':
      return [audioPart(part, field)];
    case 'file':
      return [filePart(part, field)];
    default:
      throw new RequestMappingError(
        `${field}.type`,
        `content part type ${JSON.stringify(part.type)} is not supported for Gemini (text, image_url, input_audio and file are)`,
      );
  }
}

/** A user message's content -> parts. */
export function userParts(content: unknown, field: string, warnings: Warnings): Part[] {
  if (typeof content === 'string') return textOf(content);
  if (Array.isArray(content)) return content.flatMap((part, i) => userPart(part, `${field}[${i}]`, warnings));
  throw new RequestMappingError(field, `${field} must be a string or an array of content parts, got ${kindOf(content)}`);
}

/** An assistant message's content -> text parts (a refusal is what the assistant said, kept as text). */
export function assistantParts(content: unknown, field: string): Part[] {
  if (!isSet(content)) return [];
  if (typeof content === 'string') return textOf(content);
  if (!Array.isArray(content)) {
    throw new RequestMappingError(field, `${field} must be a string or an array of content parts, got ${kindOf(content)}`);
  }
  return content.flatMap((raw, i) => {
    const part = requireObject(raw, `${field}[${i}]`);
    if (part.type === 'refusal') return textOf(requireString(part.refusal, `${field}[${i}].refusal`));
    return textOf(textPart(part, `${field}[${i}]`));
  });
}

/** Google's own OpenAI-compatible endpoint returns a call's signature as `extra_content.google.thought_signature`. */
function signatureOf(call: Record<string, unknown>): string | undefined {
  const extra = call.extra_content;
  const google = isObject(extra) ? extra.google : undefined;
  const signature = isObject(google) ? google.thought_signature : undefined;
  return typeof signature === 'string' && signature !== '' ? signature : undefined;
}

export interface ConvertedCall {
  id: string;
  name: string;
  part: Part;
  /** The signature the call came with, if any. */
  signed: boolean;
}

/** `tool_calls[j]` -> a functionCall part; OpenAI sends arguments as a JSON string, Gemini wants the object. */
export function functionCallPart(raw: unknown, field: string): ConvertedCall {
  const call = requireObject(raw, field);
  if (isSet(call.type) && call.type !== 'function') {
    throw new RequestMappingError(`${field}.type`, `tool call type ${JSON.stringify(call.type)} is not supported for Gemini`);
  }
  const fn = requireObject(call.function, `${field}.function`);
  const name = requireString(fn.name, `${field}.function.name`);
  if (name === '') throw new RequestMappingError(`${field}.function.name`, `${field}.function.name is empty`);
  const argsField = `${field}.function.arguments`;
  const text = requireString(fn.arguments, argsField);
  let args: unknown;
  try {
    args = JSON.parse(text);
  } catch (err) {
    throw new RequestMappingError(argsField, `${argsField} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(args)) throw new RequestMappingError(argsField, `${argsField} must encode a JSON object, got ${kindOf(args)}`);
  const signature = signatureOf(call);
  const part: Part = { functionCall: { name, args } };
  if (signature !== undefined) part.thoughtSignature = signature;
  return { id: requireString(call.id, `${field}.id`), name, part, signed: signature !== undefined };
}

/**
 * A `tool` message -> a functionResponse part. The response is `{ output: ... }` (the key Gemini's reference names
 * for a function's result): the content parsed when it is a JSON object or array, else the text as it is.
 */
export function functionResponsePart(name: string, content: unknown, field: string): Part {
  const text = texts(content, field).join('');
  let output: unknown = text;
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      output = JSON.parse(trimmed);
    } catch {
      output = text;
    }
  }
  return { functionResponse: { name, response: { output } } };
}
