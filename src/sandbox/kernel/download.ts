/**
 * Streams a stored file as a response body, optionally throttled or cut off midway (download faults); with a
 * `range` (inclusive byte offsets, already checked against the file's size), only those bytes, as a 206 with
 * `Content-Range`.
 */
import { promises as fs } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { notFound } from './http';

export interface DownloadFaults {
  bytesPerSecond?: number;
  /** Send about half the bytes, then destroy the socket. */
  truncate: boolean;
}

/** Pieces small enough that a throttled download advances several times a second. */
const MAX_PIECE = 64 * 1024;

export async function streamFile(
  res: ServerResponse,
  file: { id: string; path: string; bytes: number; range?: { start: number; end: number } },
  faults: DownloadFaults,
  contentType = 'application/octet-stream',
): Promise<void> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file.path, 'r');
  } catch {
    throw notFound(`No such File object: ${file.id}`, 'id'); // deleted between lookup and open
  }
  const rate = faults.bytesPerSecond;
  const pieceSize = rate ? Math.max(1, Math.min(MAX_PIECE, Math.floor(rate / 10))) : MAX_PIECE;
  const { range } = file;
  const stream = handle.createReadStream({ highWaterMark: pieceSize, ...(range ? { start: range.start, end: range.end } : {}) });
  const length = range ? range.end - range.start + 1 : file.bytes;
  const limit = faults.truncate ? Math.floor(length / 2) : length;
  if (range) {
    res.writeHead(206, { 'content-type': contentType, 'content-length': String(length), 'content-range': `bytes ${range.start}-${range.end}/${file.bytes}` });
  } else {
    res.writeHead(200, { 'content-type': contentType, 'content-length': String(file.bytes) });
  }
  const started = Date.now();
  let sent = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (res.destroyed || sent >= limit) break;
      const piece = chunk.subarray(0, limit - sent);
      sent += piece.length;
      if (rate) {
        // Hold each piece until the throttle allows it, so `sent` bytes never arrive before sent/rate seconds.
        const wait = started + (sent * 1000) / rate - Date.now();
        if (wait > 0) await sleep(wait);
        if (res.destroyed) break;
      }
      if (!res.write(piece)) await drained(res);
    }
  } finally {
    stream.destroy();
  }
  if (faults.truncate) res.destroy();
  else res.end();
}

/** Resolves when the response can take more data or has gone away. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
