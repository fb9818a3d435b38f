/**
 * The body of a multipart upload (`uploadType=multipart`): `multipart/related` with two parts, the object's JSON
 * metadata and then its bytes (https://cloud.google.com/storage/docs/uploading-objects#uploading-an-object, as
 * google-resumable-media's `construct_multipart_request` builds it for google-cloud-storage's small uploads). The
 * metadata is read into memory (it is small); the media part is handed on as a stream that ends at the closing
 * boundary, so an object of any size passes through with memory flat.
 */
import type { ApiError } from '../../kernel/http';
import { gcsError } from './errors';

const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');
/** Most bytes of a part's headers or of the metadata part. */
const MAX_SMALL_PART = 1024 * 1024;

export interface MultipartUpload {
  metadata: Record<string, unknown>;
  /** The media part's `Content-Type`, or null. */
  mediaType: string | null;
  /** The media part's bytes, ending where the closing boundary starts. */
  media: AsyncIterable<Buffer>;
}

/** The boundary of a `multipart/related` Content-Type (quoted or not), or null when it is not one. */
export function multipartBoundary(contentType: string): string | null {
  if (!/^multipart\/related\s*(;|$)/i.test(contentType.trim())) return null;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? match[1] ?? match[2] : null;
}

function malformed(why: string): ApiError {
  return gcsError(400, `Malformed multipart body: ${why}.`);
}

/** Bytes of a request body read on demand, with what was read and not yet used kept in `pending`. */
class ByteReader {
  private pending: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.pending = this.pending.length === 0 ? next.value : Buffer.concat([this.pending, next.value]);
    return true;
  }

  /** Everything up to `delimiter` (which is consumed), at most `max` bytes of it. */
  async readUntil(delimiter: Buffer, max: number, what: string): Promise<Buffer> {
    for (;;) {
      const at = this.pending.indexOf(delimiter);
      if (at >= 0) {
        const head = this.pending.subarray(0, at);
        this.pending = this.pending.subarray(at + delimiter.length);
        return head;
      }
      if (this.pending.length > max) throw malformed(`${what} is too large`);
      if (!(await this.more())) throw malformed(`${what} ends early`);
    }
  }

  /** Streams everything up to `delimiter` (consumed), holding back only what could be the delimiter's start. */
  async *streamUntil(delimiter: Buffer): AsyncGenerator<Buffer> {
    for (;;) {
      const at = this.pending.indexOf(delimiter);
      if (at >= 0) {
        if (at > 0) yield this.pending.subarray(0, at);
        this.pending = this.pending.subarray(at + delimiter.length);
        return;
      }
      const keep = delimiter.length - 1;
      if (this.pending.length > keep) {
        const piece = this.pending.subarray(0, this.pending.length - keep);
        this.pending = this.pending.subarray(this.pending.length - keep);
        yield piece;
      }
      if (!(await this.more())) throw malformed('the media part has no closing boundary');
    }
  }
}

/** A boundary that opens a part is followed by a line break, not `--` (the closing boundary) or other text. */
async function endOfBoundaryLine(reader: ByteReader): Promise<void> {
  const rest = await reader.readUntil(CRLF, 2, 'a boundary line');
  if (rest.length > 0) throw malformed('a part is missing');
}

/** `Content-Type` of a part's header block (header names are case-insensitive), or null. */
function partType(headers: Buffer): string | null {
  for (const line of headers.toString('utf8').split('\r\n')) {
    const match = /^content-type:\s*(.*)$/i.exec(line);
    if (match) return match[1].trim();
  }
  return null;
}

/**
 * Reads the metadata part of `body` and returns it with the media part still to stream. The caller must consume
 * `media` to its end (it throws there when the closing boundary never comes).
 */
export async function readMultipart(body: AsyncIterable<Buffer>, boundary: string): Promise<MultipartUpload> {
  const reader = new ByteReader(body[Symbol.asyncIterator]());
  const open = Buffer.from(`--${boundary}`);
  const between = Buffer.concat([CRLF, open]);
  const preamble = await reader.readUntil(open, MAX_SMALL_PART, 'the body before the first boundary');
  if (preamble.toString('utf8').trim() !== '') throw malformed('text before the first boundary');
  await endOfBoundaryLine(reader);
  const metaHeaders = await reader.readUntil(HEADERS_END, MAX_SMALL_PART, "the metadata part's headers");
  const metaType = partType(metaHeaders);
  if (metaType !== null && !/^application\/json/i.test(metaType)) throw malformed(`the first part is ${metaType}, not application/json metadata`);
  const metaText = await reader.readUntil(between, MAX_SMALL_PART, 'the metadata part');
  let metadata: unknown;
  try {
    metadata = metaText.length === 0 ? {} : JSON.parse(metaText.toString('utf8'));
  } catch {
    throw malformed('the metadata part is not JSON');
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw malformed('the metadata part is not a JSON object');
  await endOfBoundaryLine(reader);
  const mediaHeaders = await reader.readUntil(HEADERS_END, MAX_SMALL_PART, "the media part's headers");
  return { metadata: metadata as Record<string, unknown>, mediaType: partType(mediaHeaders), media: reader.streamUntil(between) };
}
