/**
 * The provider options of `createBatch('vertexai', ...)`: their type, names and checks. Read by the client
 * (src/options.ts) before anything starts; the adapter reads the same keys on the worker.
 */
import { UsageError } from '../../errors';
import { parseBucketUri, type BucketFolder } from '../bucket-folders';

export interface VertexOptions {
  /** The Google Cloud project; default: GOOGLE_CLOUD_PROJECT on the worker. */
  project?: string;
  /** The region of the job (`us-central1`); default: GOOGLE_CLOUD_LOCATION on the worker, else us-central1. */
  location?: string;
  /**
   * A `gs://bucket/prefix/` where the job's input is put and its predictions written: one the worker may write to
   * (under an entry of ANYBATCH_VERTEX_GCS_URIS). Default: the first entry of ANYBATCH_VERTEX_GCS_URIS.
   */
  outputUriPrefix?: string;
}

const NAMES: Record<keyof VertexOptions, true> = { project: true, location: true, outputUriPrefix: true };
export const VERTEX_OPTION_NAMES = Object.keys(NAMES) as readonly (keyof VertexOptions)[];

const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^\d{1,20}$/;
const LOCATION = /^[a-z]+(-[a-z]+)*\d*$|^global$/;

function text(options: Record<string, unknown>, name: keyof VertexOptions): string | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`${name} must be a non-empty string (got ${JSON.stringify(value)}).`);
  return value.trim();
}

export function parseVertexOptions(options: Record<string, unknown>): VertexOptions {
  const out: VertexOptions = {};
  const project = text(options, 'project');
  if (project !== undefined) {
    if (!PROJECT.test(project)) throw new UsageError(`project must be a Google Cloud project id (6 to 30 lowercase letters, digits and hyphens) or number (got ${JSON.stringify(project)}).`);
    out.project = project;
  }
  const location = text(options, 'location');
  if (location !== undefined) {
    if (!LOCATION.test(location)) throw new UsageError(`location must be a Google Cloud region such as us-central1 (got ${JSON.stringify(location)}).`);
    out.location = location;
  }
  const prefix = text(options, 'outputUriPrefix');
  if (prefix !== undefined) {
    parseGcsUri(prefix, 'outputUriPrefix');
    out.outputUriPrefix = prefix;
  }
  return out;
}

/** A folder in a Cloud Storage bucket. */
export type GcsLocation = BucketFolder;

/** A `gs://bucket/prefix` URI as bucket and prefix (a folder: `/` added); anything else is a `UsageError` naming `field`. */
export function parseGcsUri(uri: string, field: string): GcsLocation {
  return parseBucketUri('gs', uri, field);
}
