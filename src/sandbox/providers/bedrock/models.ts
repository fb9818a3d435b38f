/**
 * Which body a Bedrock job's records carry, by model id and invocation type (docs/provider-apis-3.md §1, "Input
 * records"): under `InvokeModel` each family has its own body (Anthropic Messages with `anthropic_version`, Amazon
 * Nova's `messages`/`inferenceConfig`), under `Converse` every family takes the Converse body. The sandbox answers for
 * Anthropic and Nova under InvokeModel, and for any model under Converse.
 */

export const INVOCATION_TYPES = ['InvokeModel', 'Converse'] as const;
export type InvocationType = (typeof INVOCATION_TYPES)[number];

export type ModelFamily = 'anthropic' | 'nova' | 'other';

/**
 * The family of a model id, a cross-region inference profile (`us.anthropic.claude-…`, `eu.amazon.nova-…`) or a
 * foundation-model ARN (`arn:aws:bedrock:…::foundation-model/anthropic.claude-…`).
 */
export function familyOf(modelId: string): ModelFamily {
  if (modelId.includes('anthropic.')) return 'anthropic';
  if (/(^|[./])amazon\.nova/.test(modelId)) return 'nova';
  return 'other';
}

/** Whether the sandbox can answer records of this model under this invocation type. */
export function supported(modelId: string, type: InvocationType): boolean {
  return type === 'Converse' || familyOf(modelId) !== 'other';
}

/** The model name Anthropic's replies carry: the id without region prefix, provider and version suffix. */
export function anthropicModelName(modelId: string): string {
  const tail = modelId.slice(modelId.indexOf('anthropic.') + 'anthropic.'.length);
  return tail.replace(/-v\d+(:\d+)?$/, '');
}
