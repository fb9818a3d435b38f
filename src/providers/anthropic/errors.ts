/** Turns `@anthropic-ai/sdk` errors into `ProviderError`s (529 overloaded is transient, like any 5xx). */
import Anthropic from '@anthropic-ai/sdk';
import { sdkCalls } from '../http-errors';

export const { toProviderError, call } = sdkCalls(Anthropic);
