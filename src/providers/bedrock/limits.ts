/**
 * AWS Bedrock batch inference's capabilities and limits (pure data), from provider-apis-3.md section 1 and the
 * service quotas it names: one model per job (`modelId`), records in `.jsonl` files in S3, at most 50,000 records per
 * job and at least 100 (the quotas "Records per batch inference job" and "Minimum number of records per batch
 * inference job": defaults that vary by model; an account's own quota may differ), a job running at most
 * `timeoutDurationInHours` (24 to 168), which anybatch's completion windows name. Tags are its metadata (AWS's tag
 * limits: 50 tags, keys of 128 characters, values of 256).
 */
import type { ProviderCapabilities } from '../capabilities';
import { CREATE_ONLY_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

export const BEDROCK_ENDPOINTS = ['/v1/chat/completions'] as const;

/** Completion windows and the `timeoutDurationInHours` each is sent as. */
export const BEDROCK_WINDOW_HOURS: Readonly<Record<string, number>> = { '24h': 24, '48h': 48, '72h': 72, '168h': 168 };

export const BEDROCK_LIMITS = {
  name: 'bedrock',
  endpoints: BEDROCK_ENDPOINTS,
  requiresSingleModel: true,
  maxRequestsPerBatch: 50_000,
  minRequestsPerBatch: 100,
  // "Batch inference input file size": 1 GB per file; a part is one file.
  maxBytesPerBatch: 1024 * MB,
  completionWindows: Object.keys(BEDROCK_WINDOW_HOURS),
  metadata: { maxPairs: 40, maxKeyLength: 128, maxValueLength: 256 },
  // Record ids are anybatch's own (`R` and ten digits, in line order): a user's custom_ids never reach Bedrock, so
  // none is refused or remapped for Bedrock's rules.
  // A record's output echoes its modelInput: twice a request at most, far under this.
  maxResultLineBytes: 64 * MB,
  failures: CREATE_ONLY_FAILURE_CODES,
  pricing: {
    dataset: 'aws',
    batchDiscount: { discount: 0.5, source: 'https://aws.amazon.com/bedrock/pricing/ (batch inference at 50% of on-demand prices for selected models)' },
  },
} satisfies ProviderCapabilities<'bedrock'>;
