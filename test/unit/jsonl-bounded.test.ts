/**
 * Bounded line reading (src/results/jsonl.ts): `splitLines` with `maxLineBytes` against a plain reference over many
 * chunkings, its memory bound, and `readJsonLines` reporting unreadable lines instead of throwing; then the
 * custom_id recovery and error line of an unreadable provider line (src/results/malformed.ts).
 */
import { Readable } from 'node:stream';
import { LINE_HEAD_BYTES, MalformedLine, OverlongLine, readJsonLines, splitLines } from '../../src/results/jsonl';
import { DEFAULT_MAX_RESULT_LINE_BYTES, MALFORMED_RESULT, malformedResultLine, maxResultLineBytes, recoverCustomId } from '../../src/results/malformed';
import { PROVIDERS } from '../../src/providers/catalog';

type Item = string | { overlong: number; bytes: number; head: string };

/** What the bounded splitter must give: each line, or for one over `max` bytes (before its LF) its report. */
function reference(text: string, max: number): Item[] {
  const raw = text.split('\n');
  if (raw[raw.length - 1] === '') raw.pop(); // a final newline ends the last line, it does not start one
  const out: Item[] = [];
  raw.forEach((line, i) => {
    const bytes = Buffer.byteLength(line);
    if (bytes > max) out.push({ overlong: i + 1, bytes, head: Buffer.from(line).subarray(0, LINE_HEAD_BYTES).toString('latin1') });
    else {
      const stripped = line.endsWith('\r') ? line.slice(0, -1) : line;
      // The last line without a newline is only a line when it has bytes (as in the unbounded splitter).
      if (!(i === raw.length - 1 && !text.endsWith('\n') && stripped === '')) out.push(stripped);
    }
  });
  return out;
}

async function split(bytes: Buffer, cuts: number[], max: number): Promise<Item[]> {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(at, cut));
    at = cut;
  }
  const stream = (async function* () {
    yield* chunks;
  })();
  const out: Item[] = [];
  for await (const line of splitLines(stream, { maxLineBytes: max })) {
    out.push(line instanceof OverlongLine ? { overlong: line.line, bytes: line.bytes, head: line.head.toString('latin1') } : line.toString('utf8'));
  }
  return out;
}

function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const samples: [string, number][] = [
  ['{"a":1}\n{"b":2}\n', 7],
  ['{"a":1}\n{"b":22}\n{"c":3}\n', 7],
  ['{"a":1}\r\n{"b":2}\r\n', 7],
  ['{"a":1}\r\n{"b":2}\r\n', 8],
  ['short\n' + 'x'.repeat(40) + '\nshort again\n', 12],
  ['x'.repeat(40) + '\n\n' + 'y'.repeat(13) + '\r\nok', 12],
  ['no newline at all and too long', 10],
  ['exactly10!\nexactly10!', 10],
  ['\n\n', 0],
  ['a\n\nb\n', 0],
  ['東京 café\n' + '東'.repeat(5) + '\n', 12],
  ['', 5],
];

test.each(samples)('every chunking of %j with a bound of %d gives the reference', async (text, max) => {
  const bytes = Buffer.from(text);
  const expected = reference(text, max);
  for (let cut = 0; cut <= bytes.length; cut++) expect(await split(bytes, [cut], max)).toEqual(expected);
  const next = random(bytes.length + max + 1);
  for (let round = 0; round < 60; round++) {
    const cuts = Array.from({ length: 1 + Math.floor(next() * 6) }, () => Math.floor(next() * (bytes.length + 1))).sort((a, b) => a - b);
    expect(await split(bytes, cuts, max)).toEqual(expected);
  }
});

test('an over-long line reports its number and length, keeps only its first bytes, and the lines after it are read', async () => {
  const long = 'z'.repeat(3 * LINE_HEAD_BYTES);
  const text = `{"a":1}\n\n${long}\n{"b":2}\n`;
  const got = await split(Buffer.from(text), [5, 500, 1500, 2500], 100);
  expect(got).toEqual(['{"a":1}', '', { overlong: 3, bytes: long.length, head: 'z'.repeat(LINE_HEAD_BYTES) }, '{"b":2}']);
});

test('normal lines are still views into the chunk (no copy per line) when a bound is given', async () => {
  const chunk = Buffer.from('{"a":1}\n{"b":2}\n');
  const stream = (async function* () {
    yield chunk;
  })();
  for await (const line of splitLines(stream, { maxLineBytes: 1024 })) {
    expect(line).toBeInstanceOf(Buffer);
    expect((line as Buffer).buffer).toBe(chunk.buffer);
  }
});

test('lines stay whole with a bound when every chunk arrives in one reused buffer', async () => {
  const text = ['{"a":1}', 'x'.repeat(5000), '', 'y'.repeat(20_000), 'tail'].join('\r\n');
  const source = Buffer.from(text);
  for (const size of [1, 7, 64, 1000, 4999, 5001]) {
    const reused = Buffer.alloc(size);
    const chunks = (async function* () {
      for (let at = 0; at < source.length; at += size) {
        const n = source.copy(reused, 0, at, Math.min(at + size, source.length));
        yield reused.subarray(0, n);
      }
    })();
    const lines: string[] = [];
    for await (const line of splitLines(chunks, { maxLineBytes: 10_000 })) {
      lines.push(line instanceof OverlongLine ? `overlong ${line.line} ${line.bytes} ${line.head.subarray(0, 3).toString()}` : line.toString());
    }
    expect(lines).toEqual(['{"a":1}', 'x'.repeat(5000), '', 'overlong 4 20001 yyy', 'tail']);
  }
});

test('a huge line with no newline is never buffered: memory stays flat while it streams', async () => {
  const chunkBytes = 256 * 1024;
  const total = 96 * 1024 * 1024;
  const reused = Buffer.alloc(chunkBytes, 0x78);
  let grown = 0;
  const chunks = (async function* () {
    const before = process.memoryUsage().arrayBuffers;
    for (let sent = 0; sent < total; sent += chunkBytes) {
      yield reused;
      // Measured while the line is still streaming: an unbounded splitter holds every chunk's copy here.
      if (sent + 2 * chunkBytes >= total) grown = process.memoryUsage().arrayBuffers - before;
    }
  })();
  const out: (Buffer | OverlongLine)[] = [];
  for await (const line of splitLines(chunks, { maxLineBytes: 1024 * 1024 })) out.push(line);
  expect(out).toHaveLength(1);
  expect(out[0]).toBeInstanceOf(OverlongLine);
  expect(out[0]).toMatchObject({ line: 1, bytes: total });
  expect((out[0] as OverlongLine).head.length).toBe(LINE_HEAD_BYTES);
  expect(grown).toBeLessThan(16 * 1024 * 1024);
});

describe('readJsonLines', () => {
  const body = (text: string, ...cuts: number[]) => {
    const bytes = Buffer.from(text);
    const parts: Buffer[] = [];
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      parts.push(bytes.subarray(at, cut));
      at = cut;
    }
    return Readable.from(parts);
  };
  const collect = async <T>(lines: AsyncIterable<T>) => {
    const out: T[] = [];
    for await (const line of lines) out.push(line);
    return out;
  };

  test("with malformed: 'report', unreadable lines come in their place, numbered, and reading goes on", async () => {
    const long = `{"custom_id":"d","body":"${'x'.repeat(200)}"}`;
    const text = `{"custom_id":"a"}\n\n{"custom_id":"b","resp\n[1,2]\nnull\n${long}\r\n{"custom_id":"e"}`;
    const out = await collect(readJsonLines<{ custom_id: string }>(body(text, 3, 40, 100), { source: 'file f', maxLineBytes: 100, malformed: 'report' }));
    expect(out.map((l) => (l instanceof MalformedLine ? `${l.line}:${l.reason}:${l.bytes}` : l.custom_id))).toEqual([
      'a',
      '3:not_json:22',
      '4:not_object:5',
      '5:not_object:4',
      `6:too_long:${long.length + 1}`,
      'e',
    ]);
    const bad = out[1] as MalformedLine;
    expect(bad.source).toBe('file f');
    expect(bad.head.toString()).toBe('{"custom_id":"b","resp');
    expect((out[4] as MalformedLine).head.toString()).toBe(`${long}\r`);
  });

  test('the head of a malformed line is a copy: reading on does not change it', async () => {
    const reused = Buffer.alloc(64);
    const lines = ['{"custom_id":"b",\n', '{"custom_id":"c"}\n'];
    const stream = Readable.from(
      (function* () {
        for (const l of lines) {
          const n = reused.write(l);
          yield Buffer.from(reused.subarray(0, n)); // Readable.from copies nothing; this models a fresh chunk
        }
      })(),
    );
    const out = await collect(readJsonLines(stream, { source: 'x', malformed: 'report' }));
    expect((out[0] as MalformedLine).head.toString()).toBe('{"custom_id":"b",');
  });

  test('by default an unreadable line still throws, as before (files anybatch wrote itself)', async () => {
    await expect(collect(readJsonLines(body('{"a":1}\n{"b":'), { source: 'file y' }))).rejects.toThrow(/file y, line 2: not valid JSON/);
    await expect(collect(readJsonLines(body('{"a":1}\n{"b":"long"}\n'), { source: 'file z', maxLineBytes: 8 }))).rejects.toThrow(/file z, line 2: longer than 8 bytes/);
    // Without 'report', JSON that is not an object passes as it did.
    expect(await collect(readJsonLines(body('1\n"s"\n'), { source: 'v' }))).toEqual([1, 's']);
  });

  test('a body cut short of its Content-Length still throws in report mode (a transport fault, retried)', async () => {
    const text = '{"custom_id":"a"}\n{"custom_id":"b","resp';
    const read = collect(readJsonLines(body(text), { source: 'file c', expectedBytes: text.length + 10, maxLineBytes: 1000, malformed: 'report' }));
    await expect(read).rejects.toThrow(`file c: received ${text.length} of ${text.length + 10} bytes (cut off)`);
  });
});

describe('unreadable provider lines (src/results/malformed.ts)', () => {
  const head = (text: string) => Buffer.from(text);

  test.each([
    ['{"id":"batch_req_1","custom_id":"request-7","response":{', 'custom_id', 'request-7'],
    ['{"id": "r", "custom_id" : "with \\"quotes\\" and \\u00e9", "x"', 'custom_id', 'with "quotes" and é'],
    ['{"key":"g-1","response":{"candidates"', 'key', 'g-1'],
    ['{"id":"r","response":{"body":"\\"custom_id\\":\\"spoof\\""}}', 'custom_id', null],
    ['{"id":"r","custom_id":"cut off in the hea', 'custom_id', null],
    ['{"id":"r","custom_id":""}', 'custom_id', null],
    ['{"id":"r","custom_id":17}', 'custom_id', null],
    ['garbage', 'custom_id', null],
  ])('recoverCustomId(%j, %s) is %j', (text, field, expected) => {
    expect(recoverCustomId(head(text), field)).toBe(expected);
  });

  test('the error line names the provider, file and line, quotes only a short prefix, and maps the id back', () => {
    const secret = 'SECRET-CONTENT-THAT-MUST-NOT-BE-COPIED';
    const bad = new MalformedLine('file file-abc', 12, 'not_json', 5000, head(`{"custom_id":"safe_1","response":{"body":"${secret}`));
    const line = malformedResultLine(bad, { provider: 'Anthropic', originalId: (id) => (id === 'safe_1' ? 'original 1' : undefined) });
    expect(line).toMatchObject({ custom_id: 'original 1', response: null, error: { code: MALFORMED_RESULT } });
    expect(line!.id).toMatch(/^batch_req_[0-9a-f]{24}$/);
    expect(line!.error!.message).toBe(
      `Anthropic result file file-abc, line 12 is not valid JSON (it starts ${JSON.stringify('{"custom_id":"safe_1","response":{"body"…')}); this request's result could not be read.`,
    );
    expect(line!.error!.message).not.toContain('SECRET');
    // The same line gets the same id on a retried download.
    expect(malformedResultLine(bad, { provider: 'Anthropic' })!.id).toBe(line!.id);

    const long = malformedResultLine(new MalformedLine('file f', 3, 'too_long', 70_000_000, head('{"custom_id":"x"')), { provider: 'OpenAI', maxLineBytes: 67_108_864 });
    expect(long!.error!.message).toContain('line 3 is longer than the 67108864-byte bound (70000000 bytes read)');
    expect(malformedResultLine(new MalformedLine('file f', 4, 'not_object', 4, head('null')), { provider: 'OpenAI' })).toBeNull();
  });

  test('every provider states its result line bound; the default is 64 MiB', () => {
    expect(DEFAULT_MAX_RESULT_LINE_BYTES).toBe(64 * 1024 * 1024);
    for (const capabilities of Object.values(PROVIDERS)) {
      expect(Number.isSafeInteger(capabilities.maxResultLineBytes)).toBe(true);
      expect(maxResultLineBytes(capabilities)).toBeGreaterThanOrEqual(DEFAULT_MAX_RESULT_LINE_BYTES);
      // Under V8's longest string, so a line within the bound can always be parsed.
      expect(maxResultLineBytes(capabilities)).toBeLessThan(512 * 1024 * 1024);
    }
    expect(maxResultLineBytes({ ...PROVIDERS.groq, maxResultLineBytes: undefined })).toBe(DEFAULT_MAX_RESULT_LINE_BYTES);
  });
});
