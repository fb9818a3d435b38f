/**
 * OpenAI's JSON Schemas (tool parameters, `response_format.json_schema.schema`) -> the JSON Schema subset that
 * Gemini's `parametersJsonSchema` and `responseJsonSchema` support.
 *
 * Gemini reads only these keywords (the API reference of `responseJsonSchema`): `$id`, `$defs`, `$ref`, `$anchor`,
 * `type`, `format`, `title`, `description`, `enum`, `items`, `prefixItems`, `minItems`, `maxItems`, `minimum`,
 * `maximum`, `anyOf`, `oneOf` (read as `anyOf`), `properties`, `additionalProperties`, `required`, and its own
 * `propertyOrdering`. Two keywords map losslessly: `definitions` (draft 7) becomes `$defs` (and `#/definitions/`
 * references follow), and `const` becomes a one-value `enum`. Every other keyword (`$schema`, `pattern`,
 * `minLength`, `default`, `allOf`, ...) is dropped; the caller warns once per schema site, naming them.
 */
import { isObject, type JsonObject } from './request-support';

const SUPPORTED = new Set([
  '$id', '$defs', '$ref', '$anchor', 'type', 'format', 'title', 'description', 'enum', 'items', 'prefixItems', 'minItems',
  'maxItems', 'minimum', 'maximum', 'anyOf', 'oneOf', 'properties', 'additionalProperties', 'required', 'propertyOrdering',
]);

/** Keywords whose value is a map of name -> schema. */
const SCHEMA_MAPS = new Set(['properties', '$defs']);
/** Keywords whose value is a list of schemas. */
const SCHEMA_LISTS = new Set(['prefixItems', 'anyOf', 'oneOf']);

/** A schema (or a boolean schema) with the unsupported keywords removed; their names are added to `dropped`. */
export function toGeminiSchema(schema: unknown, dropped: Set<string>): unknown {
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'definitions' || key === '$defs') {
      if (!isObject(value)) continue;
      const defs = (out.$defs as JsonObject | undefined) ?? {};
      for (const [name, def] of Object.entries(value)) defs[name] = toGeminiSchema(def, dropped);
      out.$defs = defs;
    } else if (key === 'const') {
      if (schema.enum === undefined && (typeof value === 'string' || typeof value === 'number')) out.enum = [value];
      else dropped.add('const');
    } else if (!SUPPORTED.has(key)) {
      dropped.add(key);
    } else if (key === '$ref' && typeof value === 'string' && value.startsWith('#/definitions/')) {
      out.$ref = `#/$defs/${value.slice('#/definitions/'.length)}`;
    } else if (SCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toGeminiSchema(sub, dropped)]));
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      out[key] = value.map((sub) => toGeminiSchema(sub, dropped));
    } else if (key === 'items' || key === 'additionalProperties') {
      out[key] = Array.isArray(value) ? value.map((sub) => toGeminiSchema(sub, dropped)) : toGeminiSchema(value, dropped);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The warning text for the keywords dropped at one schema site. */
export function droppedKeywordsMessage(dropped: Set<string>): string {
  return `JSON Schema keywords Gemini does not support were dropped: ${[...dropped].sort().join(', ')}`;
}
