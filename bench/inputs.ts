/** Realistic, deterministic chat-request JSONL inputs for the benchmarks. */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

export const MB = 1024 * 1024;

const SYSTEM_PROMPTS = [
  'You are a helpful assistant.',
  'You are a meticulous data-labelling assistant. Answer with a single JSON object and nothing else.',
  'Tu es un assistant qui résume des articles de presse en trois phrases, sans opinion personnelle.',
];
const WORDS = (
  'the of batch request model answer summary customer order review product quality delivery price refund ' +
  'support ticket café naïve 東京 data'
).split(' ');

/** Deterministic pseudo-random numbers (mulberry32), so every run measures the same file. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function chatLine(index: number, next: () => number): string {
  // Prompts of 20 to 300 words: short classification calls mixed with document summaries.
  const words = Array.from({ length: 20 + Math.floor(next() * 280) }, () => WORDS[Math.floor(next() * WORDS.length)]);
  return JSON.stringify({
    custom_id: `request-${index}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: SYSTEM_PROMPTS[index % SYSTEM_PROMPTS.length] },
        { role: 'user', content: words.join(' ') },
      ],
      max_tokens: 1000,
      temperature: 0.2,
    },
  });
}

/** Writes chat requests until the file reaches `bytes` (or holds `maxLines` lines, when given). */
export async function writeInput(path: string, bytes: number, maxLines = Infinity): Promise<number> {
  const out = createWriteStream(path);
  const next = random(42);
  let written = 0;
  let count = 0;
  while (written < bytes) {
    const lines: string[] = [];
    for (let i = 0; i < 1000 && count < maxLines; i++) lines.push(chatLine(count++, next));
    if (lines.length === 0) break;
    const block = Buffer.from(`${lines.join('\n')}\n`);
    written += block.length;
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return count;
}

