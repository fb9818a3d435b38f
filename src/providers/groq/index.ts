/**
 * Groq: OpenAI's Files and Batches APIs under `/openai/v1` (docs/provider-apis-2.md section 7), through the
 * `openai` SDK. Like `groq-sdk`, a base URL without the path (GROQ_BASE_URL=https://api.groq.com) gets it added.
 */
import type { SdkClientOptions } from '../sdk-clients';
import { compatibleClient, openAICompatible } from '../openai/compatible';
import { GROQ_LIMITS } from './limits';

/** Groq has no options of its own: every option of a Groq batch is a common one. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface GroqOptions {}

const API_PATH = '/openai/v1';

/** `https://api.groq.com` and `https://api.groq.com/openai/v1` both name Groq's OpenAI-compatible API. */
export function groqBaseURL(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith(API_PATH) ? trimmed : trimmed + API_PATH;
}

export const groq = openAICompatible<'groq', GroqOptions>({
  name: 'groq',
  label: 'Groq',
  keyEnv: 'GROQ_API_KEY',
  baseEnv: 'GROQ_BASE_URL',
  defaultBaseURL: 'https://api.groq.com/openai/v1',
  baseHint: `Groq's base URL is https://api.groq.com, with or without ${API_PATH}`,
  limits: GROQ_LIMITS,
  client: (options: SdkClientOptions) => compatibleClient({ ...options, baseURL: options.baseURL && groqBaseURL(options.baseURL) }),
});
