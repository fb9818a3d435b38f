/** OpenAI `tools`, `tool_choice` and `parallel_tool_calls` -> Anthropic `tools` and `tool_choice`. */
import type { Tool, ToolChoice } from '@anthropic-ai/sdk/resources/messages';
import { RequestMappingError, Warnings, isSet, requireObject, requireString } from './request-support';

export function convertTools(value: unknown, warnings: Warnings): Tool[] | undefined {
  if (!isSet(value)) return undefined;
  if (!Array.isArray(value)) throw new RequestMappingError('body.tools', 'body.tools must be an array');
  const tools = value.map((raw, i): Tool => {
    const field = `body.tools[${i}]`;
    const tool = requireObject(raw, field);
    if (tool.type !== 'function') {
      throw new RequestMappingError(`${field}.type`, `tool type ${JSON.stringify(tool.type)} is not supported for Anthropic (only "function")`);
    }
    const fn = requireObject(tool.function, `${field}.function`);
    // Anthropic has no strict mode for tool inputs; structured output goes through response_format instead.
    if (isSet(fn.strict)) warnings.add('body.tools[].function.strict', 'no Anthropic equivalent; dropped');
    const parameters = isSet(fn.parameters) ? requireObject(fn.parameters, `${field}.function.parameters`) : undefined;
    const out: Tool = {
      name: requireString(fn.name, `${field}.function.name`),
      input_schema: (parameters ?? { type: 'object', properties: {} }) as Tool.InputSchema,
    };
    if (isSet(fn.description)) out.description = requireString(fn.description, `${field}.function.description`);
    return out;
  });
  return tools.length > 0 ? tools : undefined;
}

function baseChoice(value: unknown): ToolChoice {
  if (value === 'auto') return { type: 'auto' };
  if (value === 'none') return { type: 'none' };
  if (value === 'required') return { type: 'any' };
  if (typeof value === 'string') {
    throw new RequestMappingError('body.tool_choice', `tool_choice ${JSON.stringify(value)} is not one of "auto", "none", "required"`);
  }
  const choice = requireObject(value, 'body.tool_choice');
  if (choice.type !== 'function') {
    throw new RequestMappingError('body.tool_choice.type', `tool_choice type ${JSON.stringify(choice.type)} is not supported for Anthropic`);
  }
  const fn = requireObject(choice.function, 'body.tool_choice.function');
  return { type: 'tool', name: requireString(fn.name, 'body.tool_choice.function.name') };
}

/** tool_choice, with `parallel_tool_calls: false` folded in (Anthropic keeps that flag on the tool_choice). */
export function convertToolChoice(body: Record<string, unknown>, hasTools: boolean): ToolChoice | undefined {
  const parallel = body.parallel_tool_calls;
  if (isSet(parallel) && typeof parallel !== 'boolean') {
    throw new RequestMappingError('body.parallel_tool_calls', 'body.parallel_tool_calls must be a boolean');
  }
  let choice = isSet(body.tool_choice) ? baseChoice(body.tool_choice) : undefined;
  if (parallel === false) {
    if (!choice && hasTools) choice = { type: 'auto' };
    // 'none' calls no tools at all, so there is nothing to serialise.
    if (choice && choice.type !== 'none') choice.disable_parallel_tool_use = true;
  }
  return choice;
}
