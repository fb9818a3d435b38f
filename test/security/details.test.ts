/**
 * Issue 17, the Web UI details: first written as a failing reproduction against the code before the fix.
 * The Temporal Web UI renders a workflow's summary, static details and current details as Markdown. Text anybatch
 * does not choose (batch ids, provider batch ids and statuses, error messages, file names, model names, metadata) is
 * escaped there: rendered by a real Markdown renderer with raw HTML and bare-URL links on (the worst case: Temporal's
 * own renderer is plain CommonMark), it makes no link, image or HTML, breaks no table row, starts no new block, and
 * still reads as the text it was.
 */
import fc from 'fast-check';
import MarkdownIt from 'markdown-it';
import type { AnybatchBatch } from '../../src/contract/batch';
import type { BatchSpec } from '../../src/contract/spec';
import { currentDetails, staticDetails, staticSummary } from '../../src/workflows/details';

const HOSTILE = [
  '![x](http://evil.example/i.png)',
  '<img src=x onerror=alert(1)>',
  '[click](javascript:alert(1))',
  'a | b | c',
  'one\n\n# heading\n<script>alert(1)</script>\r\n| x | y |\n|---|---|',
  '`code` ``two`` **bold** _under_ ~~gone~~',
  '<http://evil.example/auto>',
  'see http://evil.example/bare and www.evil.example',
  '&lt;img src=x onerror=alert(1)&gt; &#60;b&#62;',
  'back\\|slash \\',
  '[ref]: http://evil.example/def',
  '[x][ref] <a href="http://evil.example">a</a>',
];

const gfm = new MarkdownIt('default', { html: true, linkify: true });
// GFM's autolink literals: `www.`, `http://`, `https://` and e-mail addresses (not any word with a dot in it).
gfm.linkify.set({ fuzzyLink: false });
const renderers = {
  // Temporal's Web UI parses CommonMark (mdast-util-from-markdown); raw HTML on here is the worst case.
  commonmark: new MarkdownIt('commonmark', { html: true }),
  // GitHub-flavoured: tables, strikethrough, and bare URLs and addresses made links.
  gfm,
};

/** The tags a rendering holds. */
function tags(html: string): Set<string> {
  return new Set([...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1].toLowerCase()));
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', quot: '"', amp: '&' };

/** The rendering's visible text. */
function text(html: string): string {
  const decoded = html.replace(/<[^>]*>/g, '').replace(/&(lt|gt|quot|amp);/g, (_m, name: string) => ENTITIES[name]);
  return decoded.replace(/\s+/g, ' ');
}

/** The hostile text as it should read: on one line. */
function flat(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function spec(value: string): BatchSpec {
  return {
    batchId: value,
    provider: 'openai',
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: { [value]: value, team: value },
    createdAt: 1,
    input: { path: `/data/${value}.jsonl`, requestCount: 3, bytes: 30, model: value },
    resultsDir: `/data/results/${value}`,
    pollIntervalMs: 30_000,
    connection: { apiBase: null, sealed: null },
    maxRequestsPerPart: null,
    providerOptions: {},
    searchAttributes: true,
  };
}

function batch(value: string): AnybatchBatch {
  return {
    id: value,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    input_file_id: value,
    completion_window: '24h',
    status: value as AnybatchBatch['status'],
    created_at: 1,
    request_counts: { total: 3, completed: 1, failed: 1 },
    metadata: { k: value },
    anybatch: {
      provider: 'openai',
      provider_batches: [
        { id: value, input_file_id: value, status: value as AnybatchBatch['status'] },
        { id: 'batch_2', input_file_id: null, status: 'completed' },
      ],
      input_path: value,
      results_dir: value,
      results: { output_path: `/r/${value}/output.jsonl`, errors_path: `/r/${value}/errors.jsonl`, output_count: 1, errors_count: 1 },
      failure: value,
      warnings: [value],
      retrying: { step: value, attempts: 2, error: value, next_at: null },
      queued: { parts: 1, cause: 'queue_limit', reason: value, next_at: null },
    },
  };
}

/** Checks the three renderings of `value` with `md`: no tag but the layout's, the layout whole, the text readable. */
function expectInert(name: string, md: { render(source: string): string }, value: string): void {
  const table = md.render(staticDetails(spec(value), `/data/inputs/${value}.jsonl`));
  expect([...tags(table)].filter((t) => !['p', 'table', 'thead', 'tbody', 'tr', 'th', 'td'].includes(t))).toEqual([]);
  if (name === 'gfm') {
    // One table: its header and 10 rows (8 fixed, 2 metadata), each of two cells.
    expect(table.match(/<table>/g)).toHaveLength(1);
    const rows = table.match(/<tr>[\s\S]*?<\/tr>/g)!;
    expect(rows).toHaveLength(11);
    for (const row of rows) expect(row.match(/<t[hd]>/g)).toHaveLength(2);
  }
  expect(text(table)).toContain(flat(value));

  const summary = md.render(staticSummary(spec(value)));
  expect([...tags(summary)].filter((t) => t !== 'p')).toEqual([]);
  expect(text(summary)).toContain(flat(value));

  const current = md.render(currentDetails(batch(value)));
  expect([...tags(current)].filter((t) => !['p', 'strong'].includes(t))).toEqual([]);
  // The fixed lines stay as many paragraphs: no text of the provider's starts a block or joins two.
  expect(current.match(/<p>/g)).toHaveLength(6);
  expect(text(current)).toContain(flat(value));
}

describe.each(Object.entries(renderers))('rendered as %s', (name, md) => {
  test.each(HOSTILE)('%j makes no link, image or HTML in the summary, the details table or the current details', (value) => {
    expectInert(name, md, value);
  });

  test("any text made of Markdown's pieces renders as that text (fast-check)", () => {
    const piece = fc.constantFrom(
      ...['!', '[', ']', '(', ')', '<', '>', '`', '``', '*', '**', '_', '__', '~', '~~', '|', '\\', '&', '#', ':', '/', '//', '.', '@', '-', '=', '+', '"', "'"],
      ...[' ', '  ', '\n', '\r', '\t', '\u2028', '1.', 'www', 'http', 'https', 'mailto', 'javascript', 'img', 'src', 'onerror', 'a', 'x', 'é', 'lt;', '#60;', 'evil', 'com'],
    );
    const value = fc.array(piece, { minLength: 1, maxLength: 24 }).map((pieces) => pieces.join(''));
    fc.assert(fc.property(value, (v) => expectInert(name, md, v)), { numRuns: 300 });
  });
});

test('a value is shown on one line, however long, and cut with a mark', () => {
  const details = currentDetails(batch(`x${'y'.repeat(100_000)}`));
  expect(details.length).toBeLessThan(16 * 1024);
  expect(details).toContain('…');
});
