/** Content parts of one OpenAI message -> Anthropic content blocks (text, images, tool_use, tool_result). */
import type {
  Base64ImageSource,
  CacheControlEphemeral,
  ContentBlockParam,
  ImageBlockParam,
  TextBlockParam,
  ToolResultBlockParam,
  ToolUseBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import { RequestMappingError, Warnings, isObject, isSet, kindOf, requireObject, requireString } from './request-support';

type MediaType = Base64ImageSource['media_type'];
const IMAGE_MEDIA_TYPES: readonly MediaType[] = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

/** OpenAI parts may carry Anthropic's `cache_control` (an extension some clients send); keep it. */
function withCacheControl<T extends TextBlockParam | ImageBlockParam>(block: T, part: Record<string, unknown>): T {
  if (isObject(part.cache_control)) block.cache_control = part.cache_control as unknown as CacheControlEphemeral;
  return block;
}

/** A `{type:'text'}` part -> text block; anything else is rejected (callers that allow more check first). */
export function textPart(raw: unknown, field: string): TextBlockParam {
  const part = requireObject(raw, field);
  if (part.type !== 'text') {
    throw new RequestMappingError(`${field}.type`, `${field}.type must be "text" here, got ${JSON.stringify(part.type)}`);
  }
  return withCacheControl({ type: 'text', text: requireString(part.text, `${field}.text`) }, part);
}

/** Text parts of a system/developer/tool message; a string stays a string. */
export function textContent(content: unknown, field: string): string | TextBlockParam[] {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part, i) => textPart(part, `${field}[${i}]`));
  throw new RequestMappingError(field, `${field} must be a string or an array of text parts, got ${kindOf(content)}`);
}

/** A data: URL becomes a base64 source, an http(s) URL a url source; Anthropic takes no other image references. */
export function imageBlock(url: string, field: string): ImageBlockParam {
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  if (!url.startsWith('data:')) {
    throw new RequestMappingError(field, `${field} must be a data: URL or an http(s) URL`);
  }
  // indexOf, not a regex: the payload can be megabytes of base64.
  const comma = url.indexOf(',');
  const header = comma < 0 ? '' : url.slice(5, comma).toLowerCase();
  const [mediaType, ...params] = header.split(';');
  if (comma < 0 || !params.includes('base64')) {
    throw new RequestMappingError(field, `${field} must be a base64 data: URL (data:<media type>;base64,<data>)`);
  }
  if (!IMAGE_MEDIA_TYPES.includes(mediaType as MediaType)) {
    throw new RequestMappingError(
      field,
      `image media type ${JSON.stringify(mediaType)} is not supported by Anthropic; use one of ${IMAGE_MEDIA_TYPES.join(', ')}`,
    );
  }
  return { type: 'image', source: { type: 'base64', media_type: mediaType as MediaType, data: url.slice(comma + 1) } };
}

/** One part of a user message: text or image_url; audio, files and the rest have no Anthropic batch equivalent here. */
function userPart(raw: unknown, field: string, warnings: Warnings): TextBlockParam | ImageBlockParam {
  const part = requireObject(raw, field);
  if (part.type === 'text') return textPart(part, field);
  if (part.type === 'image_url') {
    const image = requireObject(part.image_url, `${field}.image_url`);
    if (isSet(image.detail) && image.detail !== 'auto') {
      warnings.add('body.messages[].content[].image_url.detail', 'no Anthropic equivalent; dropped');
    }
    return withCacheControl(imageBlock(requireString(image.url, `${field}.image_url.url`), `${field}.image_url.url`), part);
  }
  throw new RequestMappingError(
    `${field}.type`,
    `content part type ${JSON.stringify(part.type)} is not supported for Anthropic (only text and image_url)`,
  );
}

export function userContent(content: unknown, field: string, warnings: Warnings): string | ContentBlockParam[] {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part, i) => userPart(part, `${field}[${i}]`, warnings));
  throw new RequestMappingError(field, `${field} must be a string or an array of content parts, got ${kindOf(content)}`);
}

/** Assistant parts: text, and refusal (what the assistant said, kept as text). */
export function assistantParts(content: unknown[], field: string): TextBlockParam[] {
  return content.map((raw, i) => {
    const part = requireObject(raw, `${field}[${i}]`);
    if (part.type === 'refusal') return { type: 'text', text: requireString(part.refusal, `${field}[${i}].refusal`) };
    return textPart(part, `${field}[${i}]`);
  });
}

/** `tool_calls[j]` -> a tool_use block; OpenAI sends arguments as a JSON string, Anthropic wants the object. */
export function toolUseBlock(raw: unknown, field: string): ToolUseBlockParam {
  const call = requireObject(raw, field);
  if (isSet(call.type) && call.type !== 'function') {
    throw new RequestMappingError(`${field}.type`, `tool call type ${JSON.stringify(call.type)} is not supported for Anthropic`);
  }
  const fn = requireObject(call.function, `${field}.function`);
  const argsField = `${field}.function.arguments`;
  const args = requireString(fn.arguments, argsField);
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch (err) {
    throw new RequestMappingError(argsField, `${argsField} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(input)) {
    throw new RequestMappingError(argsField, `${argsField} must encode a JSON object, got ${kindOf(input)}`);
  }
  return {
    type: 'tool_use',
    id: requireString(call.id, `${field}.id`),
    name: requireString(fn.name, `${field}.function.name`),
    input,
  };
}

/** A `tool` message -> a tool_result block (its content: a string or text parts). */
export function toolResultBlock(message: Record<string, unknown>, field: string): ToolResultBlockParam {
  return {
    type: 'tool_result',
    tool_use_id: requireString(message.tool_call_id, `${field}.tool_call_id`),
    content: textContent(message.content, `${field}.content`),
  };
}
