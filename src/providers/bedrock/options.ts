/**
 * The provider options of `createBatch('bedrock', ...)`: their type, names and checks. Read by the client
 * (src/options.ts) before anything starts; the adapter reads the same keys on the worker. Credentials are not
 * options: they come from the worker's AWS credential chain (or a Bedrock API key as `apiKey`).
 */
import { UsageError } from '../../errors';
import { parseBucketUri, type BucketFolder } from '../bucket-folders';

export interface BedrockOptions {
  /** The service role Bedrock assumes to read the input and write the output (`arn:aws:iam::<account>:role/<name>`). Required. */
  roleArn?: string;
  /**
   * Where the job's input is put and its output written: an `s3://bucket/prefix/` the worker may write to
   * (ANYBATCH_BEDROCK_S3_URIS, or under the worker's S3 store). Default: `bedrock/` in the worker's S3 store.
   */
  outputS3Uri?: string;
  /** The model (or inference profile) of the job; default: the requests' `model`. */
  modelId?: string;
  /** The AWS region of Bedrock and of the S3 bucket; default: the worker's (AWS_REGION). */
  region?: string;
  /** `Converse` (one body for every model family, no tools) or `InvokeModel` (the model's own body); default by model. */
  modelInvocationType?: 'Converse' | 'InvokeModel';
}

const NAMES: Record<keyof BedrockOptions, true> = { roleArn: true, outputS3Uri: true, modelId: true, region: true, modelInvocationType: true };
export const BEDROCK_OPTION_NAMES = Object.keys(NAMES) as readonly (keyof BedrockOptions)[];

/** IAM role ARNs, in every partition. */
const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const MODEL_ID = /^[\w.:/+-]{1,2048}$/;

function text(options: Record<string, unknown>, name: keyof BedrockOptions): string | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`${name} must be a non-empty string (got ${JSON.stringify(value)}).`);
  return value.trim();
}

export function parseBedrockOptions(options: Record<string, unknown>): BedrockOptions {
  const out: BedrockOptions = {};
  const roleArn = text(options, 'roleArn');
  if (roleArn !== undefined) {
    if (!ROLE_ARN.test(roleArn)) throw new UsageError(`roleArn must be an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name> (got ${JSON.stringify(roleArn)}).`);
    out.roleArn = roleArn;
  }
  const outputS3Uri = text(options, 'outputS3Uri');
  if (outputS3Uri !== undefined) {
    parseS3Uri(outputS3Uri, 'outputS3Uri');
    out.outputS3Uri = outputS3Uri;
  }
  const modelId = text(options, 'modelId');
  if (modelId !== undefined) {
    if (!MODEL_ID.test(modelId)) throw new UsageError(`modelId ${JSON.stringify(modelId)} is not a Bedrock model id, inference profile id or ARN.`);
    out.modelId = modelId;
  }
  const region = text(options, 'region');
  if (region !== undefined) {
    if (!REGION.test(region)) throw new UsageError(`region must be an AWS region such as us-east-1 (got ${JSON.stringify(region)}).`);
    out.region = region;
  }
  const type = text(options, 'modelInvocationType');
  if (type !== undefined) {
    if (type !== 'Converse' && type !== 'InvokeModel') throw new UsageError(`modelInvocationType must be "Converse" or "InvokeModel" (got ${JSON.stringify(type)}).`);
    out.modelInvocationType = type;
  }
  return out;
}

/** A folder in an S3 bucket. */
export type S3Location = BucketFolder;

/** An `s3://bucket/prefix` URI as bucket and prefix (a folder: `/` added); anything else is a `UsageError` naming `field`. */
export function parseS3Uri(uri: string, field: string): S3Location {
  return parseBucketUri('s3', uri, field);
}
