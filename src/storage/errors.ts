/**
 * Errors of the blob store. Callers branch on `code` (or `instanceof`), never on message text. Messages
 * name the store (folder, or endpoint host + bucket) and the key or URI, never credentials.
 */
import { AnybatchError } from '../errors';

/** Codes of `StorageError`: what is wrong with the store itself (not with one key). */
export type StorageErrorCode =
  /** ANYBATCH_STORAGE (or another setting) cannot be parsed or does not work. */
  | 'storage_config'
  /** The endpoint does not answer (connection refused, DNS, timeout). */
  | 'storage_unreachable'
  /** The bucket does not exist (NoSuchBucket, or 404 on HeadBucket). */
  | 'storage_bucket_missing'
  /** The endpoint refused the credentials or denied access (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied). */
  | 'storage_access_denied'
  /** No credentials were found in the default chain. */
  | 'storage_credentials_missing'
  /** Anything else the store reported. */
  | 'storage_error';

export class StorageError extends AnybatchError {
  declare readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A key (or list prefix) is not a valid `/`-separated relative name. */
export class InvalidKeyError extends AnybatchError {
  readonly key: string;
  constructor(key: string, reason: string) {
    super('invalid_key', `Invalid storage key ${JSON.stringify(key)}: ${reason}.`);
    this.key = key;
  }
}

/** `get` of a key that holds no object. */
export class BlobNotFoundError extends AnybatchError {
  readonly key: string;
  readonly uri: string;
  constructor(key: string, uri: string, options?: { cause?: unknown }) {
    super('blob_not_found', `No object at ${uri}.`, options);
    this.key = key;
    this.uri = uri;
  }
}

/** `put(..., {ifNoneMatch: true})` of a key that already holds an object (which is left unchanged). */
export class BlobExistsError extends AnybatchError {
  readonly key: string;
  readonly uri: string;
  constructor(key: string, uri: string, options?: { cause?: unknown }) {
    super('blob_exists', `An object already exists at ${uri}; it was left unchanged.`, options);
    this.key = key;
    this.uri = uri;
  }
}
