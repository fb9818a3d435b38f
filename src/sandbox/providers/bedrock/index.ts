/**
 * The `bedrock` module: AWS Bedrock's batch inference (model invocation jobs) at `/bedrock`, as
 * `@aws-sdk/client-bedrock` and boto3 talk to it with their endpoint set to `${url}/bedrock` (both keep the path
 * prefix: docs/provider-apis-3.md §1, "Local emulation"). Requests are admitted by their SigV4 credential (auth.ts);
 * errors are AWS restJson1 (errors.ts); request ids are `x-amzn-RequestId` uuids. Jobs read their input from, and
 * write their outputs to, S3 (s3.ts: the standard AWS variables, or the sandbox's `s3` option), and run on the
 * sandbox clock (store.ts) with the stand-in model answering by model family and invocation type (reply.ts).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { limitsOf } from '../../kernel/limits';
import type { ProviderModule } from '../../kernel/provider';
import { authenticateBedrock } from './auth';
import { sendBedrockError } from './errors';
import { bedrockRoutes } from './routes';
import { s3ClientConfig, JobStorage } from './s3';
import { BedrockJobStore } from './store';

/**
 * Bedrock's default quotas (docs/provider-apis-3.md §1, "Limits", by their quota names) [unverified values]: 50,000
 * "Records per batch inference job" and a 5 GB "Batch inference job size".
 */
const MAX_RECORDS = 50_000;
const MAX_JOB_BYTES = 5 * 1024 ** 3;

export const bedrock: ProviderModule = {
  name: 'bedrock',
  basePath: '',
  create(kernel) {
    const { options } = kernel;
    const limits = limitsOf('bedrock', { maxRequestsPerBatch: MAX_RECORDS, maxBytesPerBatch: MAX_JOB_BYTES, requiresSingleModel: true, metadata: null });
    const storage = new JobStorage(s3ClientConfig(options.s3));
    const store = new BedrockJobStore(
      kernel.now,
      { validationMs: options.validationMs, cancellingMs: options.cancellingMs, rate: options.rate },
      { minRecords: options.bedrockMinRecords, maxRecords: options.maxRequests ?? limits.maxRequestsPerBatch, maxBytes: options.maxBytes ?? limits.maxBytesPerBatch },
      storage,
      { jobs: path.join(kernel.dataDir, 'bedrock', 'jobs'), tmp: kernel.tmpDir },
    );
    return {
      name: 'bedrock',
      routes: bedrockRoutes({ kernel, store }),
      authenticate: (req) => authenticateBedrock(req, options.apiKey),
      sendError: (res, err) => sendBedrockError(res, err),
      requestIds: { headers: ['x-amzn-RequestId'], next: () => randomUUID() },
      store: {
        init: () => store.init(),
        stats: () => ({ ...store.counters, batchesByStatus: store.countByStatus() }),
        drain: () => store.drain(),
      },
    };
  },
};
