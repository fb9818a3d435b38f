/**
 * Bedrock's error wire format, AWS restJson1: the HTTP status, the error's type in the `x-amzn-ErrorType` header
 * and `{"message": "..."}` as the body. The SDK picks its typed exception by the header (`@smithy/core`
 * `loadRestJsonErrorCode`: header first, then the body's `code` / `__type`), so every refusal, the router's and the
 * injected faults' included, is rendered here with an AWS type. Statuses are the ones the SDK's error schemas carry
 * (`@aws-sdk/client-bedrock` 3.1178.0 `dist-cjs/index.js`: `ConflictException$ ... [_hE]: 400` and so on).
 */
import type { ServerResponse } from 'node:http';
import { ApiError, sendJson } from '../../kernel/http';

/** The status of each exception Bedrock's control plane declares (the SDK's `httpError` traits). */
const STATUS_OF = {
  ValidationException: 400,
  ConflictException: 400,
  ServiceQuotaExceededException: 400,
  ResourceInUseException: 400,
  TooManyTagsException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ThrottlingException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
  // Not in the Bedrock model: the AWS front end answers these before the service sees the request.
  MissingAuthenticationTokenException: 403,
  UnrecognizedClientException: 403,
} as const;

export type BedrockErrorType = keyof typeof STATUS_OF;

function isBedrockType(type: string): type is BedrockErrorType {
  return Object.prototype.hasOwnProperty.call(STATUS_OF, type);
}

/** A refusal of Bedrock's own, with the status the SDK expects for its type. */
export function bedrockError(type: BedrockErrorType, message: string, headers: Record<string, string> = {}): ApiError {
  return new ApiError(STATUS_OF[type], message, type, null, null, headers);
}

/**
 * The AWS type of an error built in the kernel's (OpenAI's) terms, by status: injected faults, the router's 404
 * and a handler's internal failure. A forced 401 keeps its status, typed as AWS's bad-credentials refusal.
 */
export function awsTypeOf(err: ApiError): string {
  if (isBedrockType(err.type)) return err.type;
  switch (err.status) {
    case 400:
      return 'ValidationException';
    case 401:
      return 'UnrecognizedClientException';
    case 403:
      return 'AccessDeniedException';
    case 404:
      return 'ResourceNotFoundException';
    case 409:
      return 'ConflictException';
    case 429:
      return 'ThrottlingException';
    case 503:
      return 'ServiceUnavailableException';
    default:
      return err.status >= 500 ? 'InternalServerException' : 'ValidationException';
  }
}

export function sendBedrockError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, { message: err.message }, { ...err.headers, 'x-amzn-ErrorType': awsTypeOf(err) });
}

/**
 * AWS's request-validation wording (the Coral framework's), for a field that breaks a constraint of the API model:
 * `1 validation error detected: Value 'x' at 'field' failed to satisfy constraint: Member must ...`.
 */
export function constraintError(field: string, value: unknown, constraint: string): ApiError {
  const shown = value === undefined || value === null ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
  return bedrockError('ValidationException', `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: Member must ${constraint}`);
}
