/** Which tool the sandbox model calls, if any, and a deterministic input that satisfies the tool's schema. */
import { isPlainObject } from '../../kernel/http';

export interface ToolCall {
  name: string;
  input: Record<string, unknown>;
}

/** Deep enough for real tool schemas; a self-referencing schema stops here instead of recursing forever. */
const MAX_SCHEMA_DEPTH = 8;

/**
 * A call when `tool_choice` forces one (`any`: the first tool; `tool`: the named one), or when the choice is
 * left to the model and the last user text mentions the word "tool". Only client tools (with a schema) count.
 */
export function chooseTool(params: Record<string, unknown>, lastUserText: string): ToolCall | null {
  const tools = Array.isArray(params.tools) ? params.tools.filter(isPlainObject).filter((t) => typeof t.name === 'string' && isPlainObject(t.input_schema)) : [];
  const choice = isPlainObject(params.tool_choice) ? params.tool_choice : { type: 'auto' };
  let tool: Record<string, unknown> | undefined;
  if (choice.type === 'tool') tool = tools.find((t) => t.name === choice.name);
  else if (choice.type === 'any' || (choice.type === 'auto' && /\btool\b/i.test(lastUserText))) tool = tools[0];
  return tool ? { name: tool.name as string, input: sampleObject(tool.input_schema, 0) } : null;
}

/** Every required property set to a sample of its declared type. */
function sampleObject(schema: unknown, depth: number): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  if (!isPlainObject(schema) || depth >= MAX_SCHEMA_DEPTH) return input;
  const properties = isPlainObject(schema.properties) ? schema.properties : {};
  const required = Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : [];
  for (const name of required) input[name] = sampleValue(properties[name], name, depth + 1);
  return input;
}

function sampleValue(schema: unknown, name: string, depth: number): unknown {
  if (!isPlainObject(schema)) return `sample ${name}`;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array':
      return [];
    case 'object':
      return sampleObject(schema, depth);
    default:
      return `sample ${name}`;
  }
}
