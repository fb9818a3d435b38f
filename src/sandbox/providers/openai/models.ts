/** The `models` setting and the failValidation fault, applied to an OpenAI-format batch's input at validation. */
import { isPlainObject } from '../../kernel/http';
import { readInputLines } from '../../kernel/jsonl';
import type { InputCheck } from './input-check';
import type { BatchErrorJson } from './wire';

/** The validation error every batch gets while the failValidation fault is set. */
export const FORCED_VALIDATION_ERROR: BatchErrorJson = {
  code: 'sandbox_forced_failure',
  message: 'Batch validation failed (injected by the sandbox failValidation fault).',
  param: null,
  line: 1,
};

/** OpenAI's answer to a batch input naming a model that does not exist (or that the key may not use). */
export function modelNotFound(model: string, line: number): BatchErrorJson {
  return { code: 'model_not_found', message: `The model \`${model}\` does not exist or you do not have access to it.`, param: 'body.model', line };
}

/**
 * Validation with the `models` fault: the first request (in file order) for a model outside `models` fails the
 * batch, as OpenAI fails it; otherwise `check` decides. Without the fault, `check` alone.
 */
export async function checkModels(path: string, models: readonly string[] | undefined, check: () => Promise<InputCheck>): Promise<InputCheck> {
  if (models) {
    for await (const { line, text } of readInputLines(path)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        continue; // not this check's business: the input check reports it
      }
      const model = isPlainObject(parsed) && isPlainObject(parsed.body) ? parsed.body.model : undefined;
      if (typeof model === 'string' && !models.includes(model)) return { ok: false, errors: [modelNotFound(model, line)] };
    }
  }
  return check();
}
