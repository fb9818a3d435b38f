/**
 * The blob store behind everything anybatch keeps: staged inputs, split parts, results and per-part adapter
 * state. Two implementations: a local folder (`local.ts`, the ANYBATCH_HOME layout) and S3-compatible object
 * storage (`s3.ts`). Workflows carry keys, never paths or contents.
 *
 * Keys are `/`-separated relative names (`inputs/<batch>/<run>/input.jsonl`, `results/<batch>/output.jsonl`): no leading
 * `/`, no empty, `.` or `..` segment, no backslash or control character, at most 1024 bytes (see `keys.ts`).
 *
 * No partial object is ever visible as complete: a local write goes to a temp file in the same folder that
 * is renamed (or linked) into place once fully written and fsynced; an S3 multipart upload is visible only
 * once completed, and a body stream that fails (or an aborted `signal`) aborts it.
 */
import type { Readable } from 'node:stream';

export type BlobBody = Readable | Buffer | string;

export interface PutOptions {
  /**
   * Conditional create: fail with `BlobExistsError` (leaving the existing object unchanged) when the key
   * already holds an object. Atomic on the local folder and on S3 backends that honour `If-None-Match: *`;
   * see `S3StoreConfig.conditionalCreate` for the fallback.
   */
  ifNoneMatch?: boolean;
  contentType?: string;
  /** Aborts the write; nothing is left behind (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

export interface PutResult {
  /** Bytes written. */
  size: number;
  /** The backend's entity tag, when it has one (S3). */
  etag?: string;
}

/** A byte range, both ends inclusive as in HTTP `Range: bytes=start-end`. `end` past the object is clamped. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface BlobInfo {
  size: number;
  etag?: string;
  modifiedAt: Date;
}

export interface ListEntry {
  /** The key, relative to the store (as given to `put`). */
  key: string;
  size: number;
}

export interface ListOptions {
  /** Only keys bytewise after this one. */
  startAfter?: string;
}

export interface BlobStore {
  /** 'local' or 's3'. */
  readonly kind: 'local' | 's3';
  /** Streams `body` into `key` (flat memory); replaces an existing object unless `ifNoneMatch`. */
  put(key: string, body: BlobBody, opts?: PutOptions): Promise<PutResult>;
  /** The object (or a byte range of it) as a stream; `BlobNotFoundError` (naming the URI) when missing. A range starting at or past the end yields no bytes. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Size and modification time, or null when there is no object at `key`. */
  head(key: string): Promise<BlobInfo | null>;
  /**
   * Every object whose key starts with `prefix` (a plain string prefix, `''` for all), in key order (bytewise), fetched
   * page by page; with `startAfter`, only the keys after it (a cursor: an S3 listing starts there, so paging costs
   * what the page holds).
   */
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry>;
  /** Removes the object; a missing one is fine. */
  delete(key: string): Promise<void>;
  /** `file:///abs/path` or `s3://bucket/prefix/key`. */
  uri(key: string): string;
  /**
   * The file an object is on this host, for a store whose objects are files (the local folder: its keys are today's
   * ANYBATCH_HOME paths, read and written in place, no copies); null for a store whose objects are not files here (S3).
   */
  localFile(key: string): string | null;
  /**
   * Removes the folder a prefix (ending in `/`) names, with whatever is left in it once its objects are deleted (temp
   * files, emptied folders): a local folder's; nothing where a prefix is only a part of keys (S3). Callers delete the
   * objects first (`list`, `delete`), as they must for S3.
   */
  removeFolder(prefix: string): Promise<void>;
  /**
   * The store's root, ending in `/`: `file:///abs/home/` or `s3://bucket/prefix/`. Two stores with the same root
   * hold the same objects (a client and a worker compare theirs, see `StorageRef.uri` in `layout.ts`).
   */
  rootUri(): string;
  /** For messages: "local folder /x" or "S3 bucket b (prefix p/) at host". */
  describe(): string;
  /** Store-specific fast check (HeadBucket for S3), used by `checkStore` before its probe object. */
  check?(): Promise<void>;
  /**
   * Creates what the store lives in when it is missing (the S3 bucket, the local folder) and says which:
   * `created` or `exists`. Other problems (unreachable endpoint, refused credentials) throw as `check` does.
   */
  ensure?(): Promise<'created' | 'exists'>;
}
