/** Turns `openai` SDK errors into `ProviderError`s that say what failed, where, why and what to do. */
import OpenAI from 'openai';
import { sdkCalls, type ProviderInfo } from '../http-errors';

export const OPENAI_PROVIDER: ProviderInfo = {
  label: 'OpenAI',
  keyEnv: 'OPENAI_API_KEY',
  baseEnv: 'OPENAI_BASE_URL',
  baseHint: 'OpenAI-compatible base URLs end in /v1',
};

export const { toProviderError, call } = sdkCalls(OpenAI, OPENAI_PROVIDER);
