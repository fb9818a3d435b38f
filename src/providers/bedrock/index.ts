/**
 * AWS Bedrock batch inference (`bedrock`): OpenAI chat requests as Bedrock records in S3, a model invocation job per
 * part, its `.jsonl.out` joined back on record ids (./adapter.ts). Credentials: the worker's AWS credential chain
 * (or a Bedrock API key, AWS_BEARER_TOKEN_BEDROCK or `apiKey`); the endpoint: `apiBase`, else AWS_ENDPOINT_URL_BEDROCK,
 * else the region's.
 */
import { providerInfo, type ProviderDefinition } from '../definition';
import { BedrockAdapter, BEDROCK_BASE_ENV, BEDROCK_KEY_ENV, BEDROCK_S3_URIS_ENV } from './adapter';
import { BEDROCK_STATUS_MAP } from './batch-object';
import { BEDROCK_LIMITS } from './limits';
import { BEDROCK_OPTION_NAMES, parseBedrockOptions, type BedrockOptions } from './options';

export type { BedrockOptions } from './options';

export const bedrock: ProviderDefinition<'bedrock', BedrockOptions> = {
  name: 'bedrock',
  label: 'Bedrock',
  capabilities: BEDROCK_LIMITS,
  env: { apiKey: BEDROCK_KEY_ENV, baseURL: BEDROCK_BASE_ENV, s3Uris: BEDROCK_S3_URIS_ENV },
  // The region's endpoint (bedrock.<region>.amazonaws.com), chosen by the SDK.
  defaultBaseURL: null,
  baseHint: "Bedrock's endpoint is https://bedrock.<region>.amazonaws.com (the control plane, not bedrock-runtime)",
  reservedMetadata: ['anybatch-part'],
  statusMap: BEDROCK_STATUS_MAP,
  options: { names: BEDROCK_OPTION_NAMES, parse: parseBedrockOptions },
  createAdapter: () => new BedrockAdapter(bedrock.capabilities, providerInfo(bedrock)),
};
