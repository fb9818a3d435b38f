/**
 * Cloud Storage's way of admitting requests and of refusing them. The JSON API's error body is
 * `{"error": {"code", "message", "errors": [{"message", "domain": "global", "reason"}]}}`, with no canonical
 * `status` (https://cloud.google.com/storage/docs/json_api/v1/status-codes). Any credential is accepted, as the
 * storage emulators Google's libraries are pointed at with `STORAGE_EMULATOR_HOST` accept any; none is a 401.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, headerValue } from '../../kernel/auth';
import { ApiError, sendJson } from '../../kernel/http';

/** The reasons this module names itself; an error of another type (an injected fault) gets its status's reason. */
const REASONS = new Set(['invalid', 'parseError', 'required', 'notFound', 'conflict', 'forbidden', 'conditionNotMet', 'requestedRangeNotSatisfiable', 'rateLimitExceeded', 'backendError']);

/** The reason GCS gives with each status (status-codes page above). */
function reasonFor(status: number): string {
  if (status === 400) return 'invalid';
  if (status === 401) return 'required';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'notFound';
  if (status === 409) return 'conflict';
  if (status === 412) return 'conditionNotMet';
  if (status === 416) return 'requestedRangeNotSatisfiable';
  if (status === 429) return 'rateLimitExceeded';
  return status >= 500 ? 'backendError' : 'invalid';
}

/** A refusal with GCS's reason (the `type` of the ApiError carries it to `sendGcsError`). */
export function gcsError(status: number, message: string, reason = reasonFor(status)): ApiError {
  return new ApiError(status, message, reason);
}

export function sendGcsError(res: ServerResponse, err: ApiError): void {
  const reason = REASONS.has(err.type) ? err.type : reasonFor(err.status);
  sendJson(res, err.status, { error: { code: err.status, message: err.message, errors: [{ message: err.message, domain: 'global', reason }] } }, err.headers);
}

export function noSuchBucket(): ApiError {
  return gcsError(404, 'The specified bucket does not exist.');
}

export function noSuchObject(bucket: string, name: string): ApiError {
  return gcsError(404, `No such object: ${bucket}/${name}`);
}

/** The permission a request needs, for the 401's wording ("Anonymous caller does not have storage.objects.get ..."). */
function permissionOf(method: string, path: string): { permission: string; resource: string } {
  const objectPath = /\/b\/[^/]+\/o\/./.test(path);
  if (path.startsWith('/upload/')) return { permission: 'storage.objects.create', resource: 'object' };
  if (objectPath) return { permission: method === 'DELETE' ? 'storage.objects.delete' : 'storage.objects.get', resource: 'object' };
  if (/\/b\/[^/]+\/o$/.test(path)) return { permission: 'storage.objects.list', resource: 'bucket' };
  if (/\/b\/[^/]+$/.test(path)) return { permission: 'storage.buckets.get', resource: 'bucket' };
  return { permission: method === 'POST' ? 'storage.buckets.create' : 'storage.buckets.list', resource: 'project' };
}

/**
 * Admits any bearer token, `x-goog-api-key` or `?key=`; a request with none is anonymous, hence refused. A
 * resumable upload session's URI (`/upload/...?upload_id=`) is its own credential, as at GCS.
 */
export function authenticateGcs(req: IncomingMessage, path: string, url: URL): void {
  if (path.startsWith('/upload/') && req.method !== 'POST' && url.searchParams.has('upload_id')) return;
  if (bearerToken(req.headers.authorization) !== '' || headerValue(req.headers['x-goog-api-key']) !== '' || (url.searchParams.get('key') ?? '') !== '') return;
  const { permission, resource } = permissionOf(req.method ?? 'GET', path);
  throw gcsError(
    401,
    `Anonymous caller does not have ${permission} access to the Google Cloud Storage ${resource}. Permission '${permission}' denied on resource (or it may not exist).`,
    'required',
  );
}
