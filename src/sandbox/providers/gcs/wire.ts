/**
 * Cloud Storage JSON API resources as the sandbox sends them (https://cloud.google.com/storage/docs/json_api/v1/objects
 * and .../buckets): int64 fields (`size`, `generation`, `metageneration`) as strings, times as RFC 3339, `md5Hash`
 * and `crc32c` in base64 (google-cloud-storage checks its uploads against `crc32c`). `mediaLink` is an absolute URL
 * on the mount the request came through, since google-cloud-storage downloads from it when it is set.
 */
import type { GcsBucket, GcsObject } from './store';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Object names go in a path as one segment, `/` included (`in%2Fx.jsonl`). */
export function objectPath(bucket: string, name: string): string {
  return `b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`;
}

export function objectJson(object: GcsObject, base: string): Record<string, unknown> {
  const at = iso(object.createdMs);
  return {
    kind: 'storage#object',
    id: `${object.bucket}/${object.name}/${object.generation}`,
    selfLink: `${base}/storage/v1/${objectPath(object.bucket, object.name)}`,
    mediaLink: `${base}/download/storage/v1/${objectPath(object.bucket, object.name)}?generation=${object.generation}&alt=media`,
    name: object.name,
    bucket: object.bucket,
    generation: object.generation,
    metageneration: '1',
    contentType: object.contentType,
    storageClass: 'STANDARD',
    size: String(object.size),
    md5Hash: object.md5Hash,
    crc32c: object.crc32c,
    etag: Buffer.from(`${object.generation}/1`).toString('base64'),
    timeCreated: at,
    updated: at,
    timeStorageClassUpdated: at,
    ...(object.metadata ? { metadata: object.metadata } : {}),
  };
}

export function bucketJson(bucket: GcsBucket, base: string): Record<string, unknown> {
  const at = iso(bucket.createdMs);
  return {
    kind: 'storage#bucket',
    id: bucket.name,
    selfLink: `${base}/storage/v1/b/${encodeURIComponent(bucket.name)}`,
    name: bucket.name,
    projectNumber: '0',
    metageneration: '1',
    location: 'US',
    locationType: 'multi-region',
    storageClass: 'STANDARD',
    etag: 'CAE=',
    timeCreated: at,
    updated: at,
  };
}
