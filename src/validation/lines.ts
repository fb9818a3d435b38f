/**
 * JSONL framing: cuts a byte stream into numbered lines without decoding it, so each line's size and
 * UTF-8 validity are known before it becomes a string.
 */

const NL = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface LineSink {
  /** A non-blank line (1-based number), without its `\r\n`/`\n` and, on line 1, without a BOM. */
  line(bytes: Buffer, lineNumber: number): void;
  /** A line longer than the splitter's limit: its bytes were dropped as they came, to keep memory bounded. */
  oversized(lineNumber: number, bytes: number): void;
}

export class LineSplitter {
  private lineNumber = 0;
  // The start of the current line, from earlier chunks.
  private carried: Buffer[] = [];
  private carriedBytes = 0;

  constructor(
    private readonly sink: LineSink,
    private readonly maxLineBytes: number,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NL); nl !== -1; nl = chunk.indexOf(NL, start)) {
      this.complete(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) this.carry(chunk.subarray(start));
  }

  /** Emits the last line when the input does not end with a newline. */
  end(): void {
    if (this.carriedBytes > 0) this.complete(Buffer.alloc(0));
  }

  private carry(part: Buffer): void {
    this.carriedBytes += part.length;
    if (this.carriedBytes > this.maxLineBytes) this.carried = [];
    else this.carried.push(part);
  }

  private complete(tail: Buffer): void {
    this.lineNumber++;
    const size = this.carriedBytes + tail.length;
    if (size > this.maxLineBytes) {
      this.sink.oversized(this.lineNumber, size);
    } else {
      const whole = this.carriedBytes === 0 ? tail : Buffer.concat([...this.carried, tail], size);
      const line = this.trim(whole);
      if (!isBlank(line)) this.sink.line(line, this.lineNumber);
    }
    this.carried = [];
    this.carriedBytes = 0;
  }

  private trim(line: Buffer): Buffer {
    const withoutCr = line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, -1) : line;
    return this.lineNumber === 1 && startsWithBom(withoutCr) ? withoutCr.subarray(BOM.length) : withoutCr;
  }
}

function startsWithBom(line: Buffer): boolean {
  return line.length >= BOM.length && line[0] === BOM[0] && line[1] === BOM[1] && line[2] === BOM[2];
}

/** Only JSON whitespace (space, tab, CR): such lines are skipped rather than reported. */
function isBlank(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) {
    const byte = line[i];
    if (byte !== 0x20 && byte !== 0x09 && byte !== CR) return false;
  }
  return true;
}
