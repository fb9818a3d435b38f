/** The PUT to a presigned upload URL: the raw body streamed to disk, never buffered, bounded in size. */
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type ReceivedBody = { ok: true; tmpPath: string; bytes: number } | { ok: false; reason: 'too_large' | 'length_mismatch' };

/** Writes the request body to a temp file; a body over `maxBytes` (or not matching its Content-Length) is refused. */
export async function receiveBody(req: IncomingMessage, tmpDir: string, maxBytes: number): Promise<ReceivedBody> {
  const declared = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
  const tmpPath = path.join(tmpDir, `together-upload-${randomBytes(8).toString('hex')}`);
  let bytes = 0;
  let tooLarge = declared !== null && declared > maxBytes;
  // Past the limit the rest of the body is read and dropped, so the refusal can still be answered.
  const bound = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) tooLarge = true;
      done(null, tooLarge ? undefined : chunk);
    },
  });
  try {
    await pipeline(req, bound, createWriteStream(tmpPath));
  } catch (err) {
    await fs.rm(tmpPath, { force: true });
    throw err;
  }
  if (tooLarge || (declared !== null && declared !== bytes)) {
    await fs.rm(tmpPath, { force: true });
    return { ok: false, reason: tooLarge ? 'too_large' : 'length_mismatch' };
  }
  return { ok: true, tmpPath, bytes };
}
