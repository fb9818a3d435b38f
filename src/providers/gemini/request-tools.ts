/** OpenAI `tools` and `tool_choice` -> Gemini `tools[].functionDeclarations` and `toolConfig.functionCallingConfig`. */
import type { FunctionDeclaration, Tool, ToolConfig } from './types';
import { droppedKeywordsMessage, toGeminiSchema } from './request-schema';
import { RequestMappingError, Warnings, isSet, requireObject, requireString } from './request-support';

/** Gemini's rule for function names: a letter or underscore, then letters, digits, `_`, `.`, `:` or `-`; at most 128. */
export const GEMINI_FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;

const PARAMETERS_SITE = 'body.tools[].function.parameters';

export function convertTools(value: unknown, warnings: Warnings): FunctionDeclaration[] | undefined {
  if (!isSet(value)) return undefined;
  if (!Array.isArray(value)) throw new RequestMappingError('body.tools', 'body.tools must be an array');
  const dropped = new Set<string>();
  const seen = new Set<string>();
  const declarations = value.map((raw, i): FunctionDeclaration => {
    const field = `body.tools[${i}]`;
    const tool = requireObject(raw, field);
    if (tool.type !== 'function') {
      throw new RequestMappingError(`${field}.type`, `tool type ${JSON.stringify(tool.type)} is not supported for Gemini (only "function")`);
    }
    const fn = requireObject(tool.function, `${field}.function`);
    const name = requireString(fn.name, `${field}.function.name`);
    if (!GEMINI_FUNCTION_NAME.test(name)) {
      throw new RequestMappingError(
        `${field}.function.name`,
        `function name ${JSON.stringify(name)} is not valid for Gemini (a letter or underscore first, then letters, digits, _ . : -; at most 128)`,
      );
    }
    if (seen.has(name)) throw new RequestMappingError(`${field}.function.name`, `function ${JSON.stringify(name)} is declared twice`);
    seen.add(name);
    // Gemini has no strict mode for function arguments.
    if (isSet(fn.strict)) warnings.add('body.tools[].function.strict', 'no Gemini equivalent; dropped');
    const out: FunctionDeclaration = { name };
    if (isSet(fn.description)) out.description = requireString(fn.description, `${field}.function.description`);
    // A function without parameters leaves them unset (Gemini's reference).
    if (isSet(fn.parameters)) out.parametersJsonSchema = toGeminiSchema(requireObject(fn.parameters, `${field}.function.parameters`), dropped);
    return out;
  });
  if (dropped.size > 0) warnings.add(PARAMETERS_SITE, droppedKeywordsMessage(dropped));
  return declarations.length > 0 ? declarations : undefined;
}

export interface ConvertedChoice {
  toolConfig?: ToolConfig;
  /** For `allowed_tools` with mode auto: only these declarations are sent (Gemini's AUTO takes no name list). */
  keepOnly?: Set<string>;
}

function namesOf(list: unknown, field: string, declared: Set<string>): string[] {
  if (!Array.isArray(list) || list.length === 0) throw new RequestMappingError(field, `${field} must be a non-empty array`);
  return list.map((raw, i) => {
    const tool = requireObject(raw, `${field}[${i}]`);
    if (tool.type !== 'function') {
      throw new RequestMappingError(`${field}[${i}].type`, `allowed tool type ${JSON.stringify(tool.type)} is not supported for Gemini (only "function")`);
    }
    return declaredName(requireObject(tool.function, `${field}[${i}].function`).name, `${field}[${i}].function.name`, declared);
  });
}

function declaredName(value: unknown, field: string, declared: Set<string>): string {
  const name = requireString(value, field);
  if (!declared.has(name)) throw new RequestMappingError(field, `tool_choice names function ${JSON.stringify(name)}, which is not in body.tools`);
  return name;
}

/**
 * `none` -> NONE, `auto` -> AUTO, `required` -> ANY, a named function -> ANY limited to it; `allowed_tools` with mode
 * `required` -> ANY limited to the list, with mode `auto` -> AUTO over only the listed declarations.
 */
export function convertToolChoice(value: unknown, declarations: FunctionDeclaration[] | undefined): ConvertedChoice {
  if (!isSet(value)) return {};
  const declared = new Set((declarations ?? []).map((d) => d.name));
  const config = (mode: 'AUTO' | 'ANY' | 'NONE', allowedFunctionNames?: string[]): ToolConfig => ({
    functionCallingConfig: allowedFunctionNames ? { mode, allowedFunctionNames } : { mode },
  });
  if (value === 'none') return declarations ? { toolConfig: config('NONE') } : {};
  if (typeof value === 'string' && value !== 'auto' && value !== 'required') {
    throw new RequestMappingError('body.tool_choice', `tool_choice ${JSON.stringify(value)} is not one of "auto", "none", "required"`);
  }
  if (!declarations) throw new RequestMappingError('body.tool_choice', 'tool_choice needs body.tools');
  if (value === 'auto') return { toolConfig: config('AUTO') };
  if (value === 'required') return { toolConfig: config('ANY') };
  const choice = requireObject(value, 'body.tool_choice');
  if (choice.type === 'function') {
    const fn = requireObject(choice.function, 'body.tool_choice.function');
    return { toolConfig: config('ANY', [declaredName(fn.name, 'body.tool_choice.function.name', declared)]) };
  }
  if (choice.type === 'allowed_tools') {
    const allowed = requireObject(choice.allowed_tools, 'body.tool_choice.allowed_tools');
    const names = namesOf(allowed.tools, 'body.tool_choice.allowed_tools.tools', declared);
    if (allowed.mode === 'required') return { toolConfig: config('ANY', names) };
    if (allowed.mode === 'auto') return { toolConfig: config('AUTO'), keepOnly: new Set(names) };
    throw new RequestMappingError('body.tool_choice.allowed_tools.mode', `allowed_tools mode ${JSON.stringify(allowed.mode)} is not "auto" or "required"`);
  }
  throw new RequestMappingError('body.tool_choice.type', `tool_choice type ${JSON.stringify(choice.type)} is not supported for Gemini`);
}

/** The declarations as Gemini's `tools` (one tool holding every function). */
export function toolsOf(declarations: FunctionDeclaration[], keepOnly?: Set<string>): Tool[] {
  const kept = keepOnly ? declarations.filter((d) => keepOnly.has(d.name)) : declarations;
  return [{ functionDeclarations: kept }];
}
