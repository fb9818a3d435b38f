/**
 * The submit floor of `npm run bench`: the work any submit of a file must do, in a plain Node script that shares no
 * code with anybatch. It reads the file and JSON-parses every line once, then uploads the same bytes once to the same
 * sandbox with the official `openai` SDK (a file-backed Blob, streamed). Prints the call's wall time and peak RSS.
 *
 *   node dist/bench/floor.js FILE --api-base URL
 */
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';

async function readAndParse(file: string): Promise<number> {
  let lines = 0;
  let rest = Buffer.alloc(0);
  const parse = (line: Buffer) => {
    if (line.length === 0) return;
    JSON.parse(line.toString('utf8'));
    lines += 1;
  };
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let at = 0;
    for (let nl = data.indexOf(10, at); nl >= 0; nl = data.indexOf(10, at)) {
      parse(data.subarray(at, nl));
      at = nl + 1;
    }
    rest = Buffer.from(data.subarray(at));
    data = rest;
  }
  parse(rest);
  return lines;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  const apiBase = process.argv[process.argv.indexOf('--api-base') + 1];
  const client = new OpenAI({ apiKey: 'bench', baseURL: apiBase });
  const started = process.hrtime.bigint();
  const lines = await readAndParse(file);
  const uploaded = await client.files.create({ file: new File([await fs.openAsBlob(file)], path.basename(file), { type: 'application/jsonl' }), purpose: 'batch' });
  const callSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ lines, file_id: uploaded.id, bytes: uploaded.bytes, call_seconds: callSeconds, peak_rss_kb: process.resourceUsage().maxRSS }));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
