/**
 * The body of `CreateModelInvocationJob`, checked as Bedrock's API model constrains it (docs/provider-apis-3.md §1,
 * the operations table; field names from `@aws-sdk/client-bedrock` 3.1178.0 `CreateModelInvocationJobRequest$`;
 * patterns and ranges from the API reference's CreateModelInvocationJob and ModelInvocationJobSummary pages):
 * `jobName`, `roleArn`, `modelId`, `inputDataConfig.s3InputDataConfig.s3Uri` and
 * `outputDataConfig.s3OutputDataConfig.s3Uri` are required; `timeoutDurationInHours` is 24..168;
 * `modelInvocationType` is `InvokeModel` (the default) or `Converse`. Refusals use AWS's validation wording.
 */
import { isPlainObject } from '../../kernel/http';
import { constraintError } from './errors';
import { INVOCATION_TYPES, type InvocationType } from './models';
import type { JobSpec } from './store';

const JOB_NAME = /^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}$/;
const ROLE_ARN = /^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role\/.+$/;
const S3_URI = /^s3:\/\/[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9](\/.*)?$/;
const TOKEN = /^[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}$/;

export const MIN_TIMEOUT_HOURS = 24;
export const MAX_TIMEOUT_HOURS = 168;
/** [unverified] The API reference gives the range but no default; 72 h is the console's preset. */
export const DEFAULT_TIMEOUT_HOURS = 72;
const MAX_TAGS = 200;

function requiredString(value: unknown, field: string, pattern: RegExp | null, maxLength: number): string {
  if (value === undefined || value === null) throw constraintError(field, value, 'not be null');
  if (typeof value !== 'string') throw constraintError(field, value, 'be a string');
  if (value.length < 1) throw constraintError(field, value, 'have length greater than or equal to 1');
  if (value.length > maxLength) throw constraintError(field, value, `have length less than or equal to ${maxLength}`);
  if (pattern && !pattern.test(value)) throw constraintError(field, value, `satisfy regular expression pattern: ${pattern.source}`);
  return value;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined || value === null) throw constraintError(field, value, 'not be null');
  if (!isPlainObject(value)) throw constraintError(field, value, 'be a structure');
  return value;
}

function optionalString(source: Record<string, unknown>, key: string): Record<string, string> {
  const value = source[key];
  return typeof value === 'string' ? { [key]: value } : {};
}

/** The job a create body asks for, or the ValidationException Bedrock would answer. */
export function parseCreateRequest(body: unknown): JobSpec {
  const input = object(body, 'body');
  const jobName = requiredString(input.jobName, 'jobName', JOB_NAME, 63);
  const roleArn = requiredString(input.roleArn, 'roleArn', ROLE_ARN, 2048);
  const modelId = requiredString(input.modelId, 'modelId', null, 2048);
  const s3In = object(object(input.inputDataConfig, 'inputDataConfig').s3InputDataConfig, 'inputDataConfig.s3InputDataConfig');
  const inputUri = requiredString(s3In.s3Uri, 'inputDataConfig.s3InputDataConfig.s3Uri', S3_URI, 1024);
  if (s3In.s3InputFormat !== undefined && s3In.s3InputFormat !== 'JSONL') {
    throw constraintError('inputDataConfig.s3InputDataConfig.s3InputFormat', s3In.s3InputFormat, 'satisfy enum value set: [JSONL]');
  }
  const s3Out = object(object(input.outputDataConfig, 'outputDataConfig').s3OutputDataConfig, 'outputDataConfig.s3OutputDataConfig');
  const outputUri = requiredString(s3Out.s3Uri, 'outputDataConfig.s3OutputDataConfig.s3Uri', S3_URI, 1024);
  const token = input.clientRequestToken === undefined ? null : requiredString(input.clientRequestToken, 'clientRequestToken', TOKEN, 256);
  return {
    jobName,
    roleArn,
    modelId,
    invocationType: invocationType(input.modelInvocationType),
    inputDataConfig: { s3InputDataConfig: { s3Uri: inputUri, ...optionalString(s3In, 's3InputFormat'), ...optionalString(s3In, 's3BucketOwner') } },
    outputDataConfig: { s3OutputDataConfig: { s3Uri: outputUri, ...optionalString(s3Out, 's3EncryptionKeyId'), ...optionalString(s3Out, 's3BucketOwner') } },
    clientRequestToken: token,
    timeoutDurationInHours: timeoutHours(input.timeoutDurationInHours),
    tags: tags(input.tags),
    vpcConfig: input.vpcConfig === undefined ? null : object(input.vpcConfig, 'vpcConfig'),
  };
}

function invocationType(value: unknown): InvocationType {
  if (value === undefined) return 'InvokeModel';
  if (typeof value === 'string' && (INVOCATION_TYPES as readonly string[]).includes(value)) return value as InvocationType;
  throw constraintError('modelInvocationType', value, `satisfy enum value set: [${INVOCATION_TYPES.join(', ')}]`);
}

function timeoutHours(value: unknown): number {
  if (value === undefined) return DEFAULT_TIMEOUT_HOURS;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw constraintError('timeoutDurationInHours', value, 'be an integer');
  if (value < MIN_TIMEOUT_HOURS) throw constraintError('timeoutDurationInHours', value, `have value greater than or equal to ${MIN_TIMEOUT_HOURS}`);
  if (value > MAX_TIMEOUT_HOURS) throw constraintError('timeoutDurationInHours', value, `have value less than or equal to ${MAX_TIMEOUT_HOURS}`);
  return value;
}

function tags(value: unknown): Array<{ key: string; value: string }> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw constraintError('tags', value, 'be a list');
  if (value.length > MAX_TAGS) throw constraintError('tags', value, `have length less than or equal to ${MAX_TAGS}`);
  return value.map((tag, i) => {
    const t = object(tag, `tags.${i + 1}.member`);
    return { key: requiredString(t.key, `tags.${i + 1}.member.key`, null, 128), value: requiredString(t.value, `tags.${i + 1}.member.value`, null, 256) };
  });
}

/**
 * Whether two creates ask for the same job, for `clientRequestToken`: every parameter but the token, compared with
 * keys in a fixed order (a retried request serializes the same object, but a different client may order it otherwise).
 */
export function sameRequest(a: JobSpec, b: JobSpec): boolean {
  const canonical = (spec: JobSpec): string => stableJson({ ...spec, clientRequestToken: null });
  return canonical(a) === canonical(b);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
