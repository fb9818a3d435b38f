/** OpenAI: the provider whose batch format every other one is spoken in. */
import OpenAI from 'openai';
import { OPENAI_LIMITS } from './limits';
import { openAICompatible } from './compatible';
import { OPENAI_OPTION_NAMES, parseOpenAIOptions, type OpenAIOptions } from './options';

export type { OpenAIOptions } from './options';

export const openai = openAICompatible<'openai', OpenAIOptions>({
  name: 'openai',
  label: 'OpenAI',
  keyEnv: 'OPENAI_API_KEY',
  baseEnv: 'OPENAI_BASE_URL',
  defaultBaseURL: 'https://api.openai.com/v1',
  baseHint: 'OpenAI-compatible base URLs end in /v1',
  limits: OPENAI_LIMITS,
  options: { names: OPENAI_OPTION_NAMES, parse: parseOpenAIOptions },
  // The SDK's own client: it reads OPENAI_ORG_ID and OPENAI_PROJECT_ID as OpenAI users expect.
  client: (options) => new OpenAI(options),
  listsNewestFirst: true,
});
