/**
 * Folders in a cloud bucket (`s3://bucket/prefix/`, `gs://bucket/prefix/`), as the providers that keep their input and
 * output in the cloud's storage name them (Bedrock, Vertex AI): parsed strictly, and matched against the folders the
 * worker's operator allowed, since the worker writes there with its own credentials. Pure functions.
 */
import { UsageError } from '../errors';

export interface BucketFolder {
  bucket: string;
  /** The key prefix, ending in `/` unless empty. */
  prefix: string;
}

export type BucketScheme = 's3' | 'gs';

/** Bucket names as each store allows them (S3: 3 to 63 characters; Cloud Storage: up to 222 with dots). */
const BUCKET: Record<BucketScheme, string> = { s3: '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]', gs: '[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]' };

/** A `<scheme>://bucket/prefix` URI as bucket and prefix (a folder: `/` added); anything else is a `UsageError` naming `field`. */
export function parseBucketUri(scheme: BucketScheme, uri: string, field: string): BucketFolder {
  const m = new RegExp(`^${scheme}://(${BUCKET[scheme]})(?:/(.*))?$`).exec(uri);
  if (!m) throw new UsageError(`${field} must be a ${scheme}://bucket/prefix/ URI (got ${JSON.stringify(uri)}).`);
  const rest = m[2] ?? '';
  if (rest.split('/').some((segment, i, all) => segment === '..' || segment === '.' || (segment === '' && i < all.length - 1))) {
    throw new UsageError(`${field} ${JSON.stringify(uri)} has an empty, "." or ".." path segment.`);
  }
  return { bucket: m[1], prefix: rest === '' || rest.endsWith('/') ? rest : `${rest}/` };
}

/** The URI of `name` in `folder` (the folder's own with `name` empty). */
export function folderUri(scheme: BucketScheme, folder: BucketFolder, name = ''): string {
  return `${scheme}://${folder.bucket}/${folder.prefix}${name}`;
}

/** Whether `folder` is at or under `root` (both folders, so `a/` never matches `ab/`). */
export function isUnder(root: BucketFolder, folder: BucketFolder): boolean {
  return root.bucket === folder.bucket && folder.prefix.startsWith(root.prefix);
}

/** The folders a comma-separated variable lists (`ANYBATCH_BEDROCK_S3_URIS`), each checked. */
export function foldersFromEnv(scheme: BucketScheme, name: string, env: NodeJS.ProcessEnv = process.env): BucketFolder[] {
  return (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => parseBucketUri(scheme, s, name));
}
