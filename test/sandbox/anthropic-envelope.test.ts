/** The streaming scanner of create bodies: `requests` elements come out whole however the body is chunked. */
import { EnvelopeScanner, MalformedBody } from '../../src/sandbox/providers/anthropic/envelope-scan';

/** Scans `body` cut into pieces of `size` bytes; returns the elements as parsed JSON and what `requests` held. */
function scan(body: string, size: number): { elements: unknown[]; requests: string } {
  const scanner = new EnvelopeScanner();
  const bytes = Buffer.from(body);
  const elements: unknown[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    for (const raw of scanner.push(bytes.subarray(at, at + size))) elements.push(JSON.parse(raw.toString('utf8')));
  }
  scanner.end();
  return { elements, requests: scanner.requests };
}

const TRICKY = [
  { custom_id: 'a', params: { messages: [{ role: 'user', content: 'brackets ] } [ { and "quotes" and \\ backslashes' }] } },
  { custom_id: 'b', params: { n: -1.5e3, ok: true, none: null, nested: [[1, [2]], {}], text: 'héllo ✓ 🎉 \u2028' } },
];

test('elements come out whole at every chunk size, including one byte at a time', () => {
  const body = JSON.stringify({ before: { requests: [1] }, requests: TRICKY, after: 'x' });
  for (const size of [1, 2, 3, 7, 64, body.length]) expect(scan(body, size)).toEqual({ elements: TRICKY, requests: 'array' });
});

test('whitespace and pretty-printing are allowed anywhere JSON allows them', () => {
  expect(scan(`\n {\n  "requests" : [\n ${JSON.stringify(TRICKY, null, 2).slice(1, -1)} \n ] \n}\n`, 5).elements).toEqual(TRICKY);
});

test('an absent or non-list requests key is reported, not thrown', () => {
  expect(scan('{}', 1).requests).toBe('absent');
  expect(scan('{"requests": {"a": 1}, "z": 2}', 1).requests).toBe('not-array');
  expect(scan('{"requests": []}', 1)).toEqual({ elements: [], requests: 'array' });
});

test.each([
  ['an empty body', ''],
  ['a top-level array', '[1]'],
  ['a trailing comma in requests', '{"requests": [1,]}'],
  ['a trailing comma in the object', '{"requests": [1],}'],
  ['a missing colon', '{"requests" [1]}'],
  ['an unterminated object', '{"requests": [1]'],
  ['data after the object', '{"requests": [1]} x'],
  ['an invalid top-level value', '{"other": tru, "requests": [1]}'],
  ['requests given twice', '{"requests": [1], "requests": [2]}'],
])('%s is malformed', (_, body) => {
  expect(() => scan(body, 1)).toThrow(MalformedBody);
});
