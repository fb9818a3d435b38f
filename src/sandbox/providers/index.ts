/** The registry: one line per emulated provider (its name is its path prefix), served in this order. */
import type { ProviderModule } from '../kernel/provider';
import { anthropic } from './anthropic';
import { azureopenai } from './azureopenai';
import { gemini } from './gemini';
import { groq } from './groq';
import { mistral } from './mistral';
import { openai } from './openai';
import { together } from './together';
import { xai } from './xai';
import { nebius } from './nebius';
import { dashscope } from './dashscope';
import { moonshot } from './moonshot';
import { cerebras } from './cerebras';
import { gcs, gcsStoreOf } from './gcs';
import { vertexaiModule } from './vertexai';
import { reply as geminiReply, requestProblem } from './gemini/responder';
import { paramsProblem } from './anthropic/params-check';
import { reply as claudeReply } from './anthropic/responder';
import { bedrock } from './bedrock';

/**
 * Vertex AI answers Gemini lines as the gemini module does and Claude lines as the anthropic module does, and keeps
 * its inputs and outputs in the gcs module's store. Provider modules do not import one another, so the registry,
 * which knows them all, hands it those parts.
 */
const vertexai = vertexaiModule({ storage: gcsStoreOf, gemini: { requestProblem, reply: geminiReply }, claude: { paramsProblem, reply: claudeReply } });

export const PROVIDER_MODULES = { openai, anthropic, groq, azureopenai, xai, gemini, mistral, together, nebius, dashscope, moonshot, cerebras, bedrock, gcs, vertexai } satisfies Record<string, ProviderModule>;

export type SandboxProviderName = keyof typeof PROVIDER_MODULES;
