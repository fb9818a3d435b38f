/**
 * Bedrock's shapes on the wire: a record's outcome as the output files carry it, the job object `GetModelInvocationJob`
 * and `ListModelInvocationJobs` answer with, and the manifest (docs/provider-apis-3.md §1; field names from
 * `@aws-sdk/client-bedrock` 3.1178.0 `dist-cjs/index.js`, `GetModelInvocationJobResponse$` and
 * `ModelInvocationJobSummary$`, whose timestamps are schema type 5, date-time: ISO 8601 strings, not epoch seconds).
 */

/** What the stand-in model answers a record with, and the tokens it counts. */
export interface ModelReply {
  modelOutput: Record<string, unknown>;
  inputTokens: number;
  outputTokens: number;
}

/** A failed record's `error`: `{errorCode: 400, errorMessage}` in the output file. */
export interface RecordError {
  errorCode: number;
  errorMessage: string;
}

/** Bedrock runtime's wording for a body its schema refuses [inferred from InvokeModel's refusals]. */
export function malformed(detail: string): string {
  return `Malformed input request: ${detail}, please reformat your input and try again.`;
}

export type JobStatus = 'Submitted' | 'Validating' | 'Scheduled' | 'InProgress' | 'Completed' | 'PartiallyCompleted' | 'Failed' | 'Stopping' | 'Stopped' | 'Expired';

export const JOB_STATUSES: readonly JobStatus[] = ['Submitted', 'Validating', 'Scheduled', 'InProgress', 'Completed', 'PartiallyCompleted', 'Failed', 'Stopping', 'Stopped', 'Expired'];

export interface S3InputConfigJson {
  s3InputDataConfig: { s3Uri: string; s3InputFormat?: string; s3BucketOwner?: string };
}

export interface S3OutputConfigJson {
  s3OutputDataConfig: { s3Uri: string; s3EncryptionKeyId?: string; s3BucketOwner?: string };
}

export interface JobJson {
  jobArn: string;
  jobName: string;
  modelId: string;
  roleArn: string;
  clientRequestToken?: string;
  status: JobStatus;
  message?: string;
  submitTime: string;
  lastModifiedTime: string;
  endTime?: string;
  inputDataConfig: S3InputConfigJson;
  outputDataConfig: S3OutputConfigJson;
  vpcConfig?: Record<string, unknown>;
  timeoutDurationInHours: number;
  jobExpirationTime: string;
  modelInvocationType: string;
  totalRecordCount: number;
  processedRecordCount: number;
  successRecordCount: number;
  errorRecordCount: number;
}

/** `manifest.json.out`, beside the output files. */
export interface ManifestJson {
  totalRecordCount: number;
  processedRecordCount: number;
  successRecordCount: number;
  errorRecordCount: number;
  inputTokenCount: number;
  outputTokenCount: number;
}
