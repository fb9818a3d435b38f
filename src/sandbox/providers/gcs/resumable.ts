/**
 * Resumable uploads (https://cloud.google.com/storage/docs/performing-resumable-uploads), which
 * google-cloud-storage uses for anything over 8 MiB, for a stream of unknown size, and whenever it is asked to:
 *
 * - `POST /upload/storage/v1/b/{b}/o?uploadType=resumable[&name=]` with the object's JSON metadata as the body,
 *   `X-Upload-Content-Type` and optionally `X-Upload-Content-Length`, starts a session and answers 200 with its
 *   URI in `Location` (the same path with `upload_id=`); preconditions (`ifGenerationMatch`...) in that query
 *   are checked when the object commits.
 * - `PUT <session URI>` with `Content-Range: bytes {first}-{last}/{total|*}` sends a chunk: 308 with
 *   `Range: bytes=0-{persisted - 1}` (no `Range` while nothing is persisted) until the last byte of a known total
 *   arrives, then 200 with the object. a `Content-Range` of `bytes *` over `{total}` or `*` with no body asks how far the session
 *   got (308), or finishes it when `total` bytes are there; no `Content-Range` sends the whole object at once.
 *   A chunk may start before the persisted offset (those bytes are skipped, as after a lost answer) but not
 *   after it. A chunk is kept whole or not at all: one cut short is dropped, so the next status query says where
 *   to resume. `X-Goog-Hash` on the last request (`crc32c=...,md5=...`) and `crc32c`/`md5Hash` in the metadata
 *   are checked against the object. A finished session answers every later request with its object.
 * - `DELETE <session URI>` cancels it: 499, and the session is gone (404 after).
 *
 * The session URI is its own credential, as at GCS: its requests need no Authorization. Bytes go to a file on
 * disk as they arrive; memory holds only each session's small record.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, promises as fs } from 'node:fs';
import { finished } from 'node:stream/promises';
import { sendJson } from '../../kernel/http';
import type { RouteInput } from '../../kernel/provider';
import { gcsError } from './errors';
import type { Preconditions } from './preconditions';
import type { GcsObject, GcsStore } from './store';
import { objectJson } from './wire';

interface Session extends SessionStart {
  id: string;
  file: string;
  /** Bytes on disk, all of them from chunks received whole. */
  persisted: number;
  /** The object, once the session finished. */
  done: GcsObject | null;
  /** A request of this session is being handled (a second at once is refused). */
  busy: boolean;
}

export interface SessionStart {
  bucket: string;
  name: string;
  contentType: string;
  metadata: Record<string, string> | null;
  expected: { md5Hash: string | null; crc32c: string | null };
  expectedSize: number | null;
  preconditions: Preconditions;
}

/** A chunk's `Content-Range`: `first` and `last` are null for a status query (`bytes *`), `total` for an unknown total. */
interface ContentRange {
  first: number | null;
  last: number | null;
  total: number | null;
}

function parseContentRange(value: string): ContentRange {
  const match = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(value.trim());
  if (!match) throw gcsError(400, `Invalid Content-Range header: '${value}'.`);
  const first = match[1] === undefined ? null : Number(match[1]);
  const last = match[2] === undefined ? null : Number(match[2]);
  const total = match[3] === '*' ? null : Number(match[3]);
  if (first !== null && last !== null && last < first) throw gcsError(400, `Invalid Content-Range header: '${value}'.`);
  if (total !== null && last !== null && last >= total) throw gcsError(400, `Invalid Content-Range header: '${value}' ends past its total.`);
  return { first, last, total };
}

/** The checksums of an `X-Goog-Hash` header (`crc32c=AAAAAA==,md5=...`). */
function goodHash(value: string): { md5Hash: string | null; crc32c: string | null } {
  const out: { md5Hash: string | null; crc32c: string | null } = { md5Hash: null, crc32c: null };
  for (const part of value.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const key = part.slice(0, at).trim().toLowerCase();
    const digest = part.slice(at + 1).trim();
    if (key === 'md5') out.md5Hash = digest;
    else if (key === 'crc32c') out.crc32c = digest;
  }
  return out;
}

function header(input: RouteInput, name: string): string {
  const value = input.req.headers[name];
  return (Array.isArray(value) ? value[0] ?? '' : value ?? '').trim();
}

/** Reads and drops a request's body (a request answered without its bytes). */
async function drain(input: RouteInput): Promise<number> {
  let size = 0;
  for await (const chunk of input.req as AsyncIterable<Buffer>) size += chunk.length;
  return size;
}

export class ResumableUploads {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly store: GcsStore) {}

  /** Starts a session; its URI goes in the answer's `Location`. */
  async start(input: RouteInput, start: SessionStart): Promise<void> {
    const id = randomBytes(24).toString('base64url');
    const file = this.store.incomingPath();
    await fs.writeFile(file, '');
    this.sessions.set(id, { id, ...start, file, persisted: 0, done: null, busy: false });
    const location = `${input.base}/upload/storage/v1/b/${encodeURIComponent(start.bucket)}/o?uploadType=resumable&name=${encodeURIComponent(start.name)}&upload_id=${encodeURIComponent(id)}`;
    input.res.writeHead(200, { location, 'x-guploader-uploadid': id, 'content-length': '0' });
    input.res.end();
  }

  private session(input: RouteInput): Session {
    const id = input.url.searchParams.get('upload_id') ?? '';
    const session = this.sessions.get(id);
    if (!session || session.bucket !== input.params[0]) throw gcsError(404, `No such upload session: ${id}`);
    return session;
  }

  /** A `PUT` to a session URI: a chunk, a status query or the whole object. */
  async put(input: RouteInput): Promise<void> {
    const session = this.session(input);
    if (session.busy) {
      await drain(input);
      throw gcsError(503, 'Another request of this upload session is still being handled; retry it.', 'backendError');
    }
    session.busy = true;
    try {
      await this.handlePut(input, session);
    } finally {
      session.busy = false;
    }
  }

  private async handlePut(input: RouteInput, session: Session): Promise<void> {
    const rangeHeader = header(input, 'content-range');
    const range: ContentRange = rangeHeader === '' ? { first: 0, last: null, total: null } : parseContentRange(rangeHeader);
    if (session.done) {
      await drain(input);
      return sendJson(input.res, 200, objectJson(session.done, input.base));
    }
    if (range.first === null) {
      // `bytes */total` or `bytes */*`: no bytes, only where the session is (or its end).
      const extra = await drain(input);
      if (extra > 0) throw gcsError(400, 'A status request (Content-Range: bytes */...) carries no body.');
      if (range.total !== null && range.total === session.persisted) return this.finish(input, session);
      if (range.total !== null && range.total < session.persisted) {
        throw gcsError(400, `The upload's total of ${range.total} byte(s) is less than the ${session.persisted} already uploaded.`);
      }
      return this.incomplete(input, session);
    }
    if (range.first > session.persisted) {
      await drain(input);
      throw gcsError(
        400,
        `Invalid request. According to the Content-Range header, the upload offset is ${range.first} byte(s), which exceeds already uploaded size of ${session.persisted} byte(s).`,
      );
    }
    const received = await this.append(input, session, range);
    const total = rangeHeader === '' ? received : range.total;
    if (total !== null && session.persisted === total) return this.finish(input, session);
    if (total !== null && session.persisted > total) throw gcsError(400, `The upload's ${session.persisted} byte(s) exceed its total of ${total}.`);
    return this.incomplete(input, session);
  }

  /**
   * Appends the chunk's bytes past the persisted offset; the chunk is kept only when its length is the range's.
   * Returns the chunk's length.
   */
  private async append(input: RouteInput, session: Session, range: ContentRange): Promise<number> {
    const first = range.first as number;
    const declared = range.last === null ? null : range.last - first + 1;
    const before = session.persisted;
    let skip = before - first;
    let received = 0;
    const out = createWriteStream(session.file, { flags: 'a' });
    out.on('error', () => undefined); // surfaced by `finished`
    try {
      for await (const chunk of input.req as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (declared !== null && received > declared) continue; // refused below; the body is still read to its end
        let piece = chunk;
        if (skip > 0) {
          const dropped = Math.min(skip, piece.length);
          piece = piece.subarray(dropped);
          skip -= dropped;
        }
        if (piece.length > 0 && !out.write(piece)) await once(out, 'drain');
      }
      out.end();
      await finished(out);
    } catch (err) {
      out.destroy();
      await fs.truncate(session.file, before);
      throw err;
    }
    if (declared !== null && received !== declared) {
      await fs.truncate(session.file, before);
      throw gcsError(400, `The chunk's ${received} byte(s) are not the ${declared} its Content-Range names.`);
    }
    // A chunk wholly before the persisted offset (sent again after a lost answer) adds nothing.
    session.persisted = Math.max(before, first + received);
    return received;
  }

  private incomplete(input: RouteInput, session: Session): void {
    const headers: Record<string, string> = { 'content-length': '0', 'x-guploader-uploadid': session.id };
    if (session.persisted > 0) headers.range = `bytes=0-${session.persisted - 1}`;
    input.res.writeHead(308, headers);
    input.res.end();
  }

  private async finish(input: RouteInput, session: Session): Promise<void> {
    const sent = goodHash(header(input, 'x-goog-hash'));
    try {
      session.done = await this.store.commitUpload(session.bucket, session.name, session.file, {
        contentType: session.contentType,
        metadata: session.metadata,
        expected: { crc32c: sent.crc32c ?? session.expected.crc32c, md5Hash: sent.md5Hash ?? session.expected.md5Hash },
        expectedSize: session.expectedSize,
        preconditions: session.preconditions,
      });
    } catch (err) {
      // Refused at the end (a checksum, a precondition): the file is gone, and so is the session.
      this.sessions.delete(session.id);
      throw err;
    }
    sendJson(input.res, 200, objectJson(session.done, input.base));
  }

  /** `DELETE <session URI>`: the session and its bytes are dropped; 499, as GCS answers a cancel. */
  async cancel(input: RouteInput): Promise<void> {
    const session = this.session(input);
    this.sessions.delete(session.id);
    if (!session.done) await fs.rm(session.file, { force: true });
    input.res.writeHead(499, { 'content-length': '0' });
    input.res.end();
  }
}
