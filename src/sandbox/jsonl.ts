/** Line-by-line reading of a batch input file, shared by validation and output generation so both agree. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface InputLine {
  /** 1-based line number in the file. */
  line: number;
  text: string;
}

/** Yields the non-blank lines of a JSONL file; blank lines (a trailing newline, say) are not requests. */
export async function* readInputLines(path: string): AsyncGenerator<InputLine> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of lines) {
      line++;
      const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (text.trim() !== '') yield { line, text };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}
