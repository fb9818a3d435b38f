/** Turns `openai` SDK errors into `ProviderError`s. */
import OpenAI from 'openai';
import { sdkCalls } from '../http-errors';

export const { toProviderError, call } = sdkCalls(OpenAI);
