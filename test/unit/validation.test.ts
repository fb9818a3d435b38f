import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InputValidationError, UsageError, type InputIssue } from '../../src/errors';
import { PROVIDERS, type ProviderCapabilities } from '../../src/providers/catalog';
import { validateInputFile, type ValidationTarget } from '../../src/validation';
import { LineSplitter } from '../../src/validation/lines';

const CHAT = '/v1/chat/completions';

let dir: string;
let fileCount = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anybatch-validation-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `content` to a fresh file in the temp folder and returns its path. */
async function inputFile(content: string | Buffer): Promise<string> {
  const path = join(dir, `input-${++fileCount}.jsonl`);
  await writeFile(path, content);
  return path;
}

function request(customId: string, body: Record<string, unknown> = {}): Record<string, unknown> {
  const defaults = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] };
  return { custom_id: customId, method: 'POST', url: CHAT, body: { ...defaults, ...body } };
}

function jsonl(lines: unknown[]): string {
  return lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';
}

function target(overrides: Partial<ValidationTarget> = {}): ValidationTarget {
  return { file: 'input.jsonl', endpoint: CHAT, capabilities: PROVIDERS.openai, ...overrides };
}

async function validationError(run: Promise<unknown>): Promise<InputValidationError> {
  const error = await run.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(InputValidationError);
  return error as InputValidationError;
}

async function issuesOf(content: string | Buffer, overrides: Partial<ValidationTarget> = {}): Promise<InputIssue[]> {
  return (await validationError(validateInputFile(await inputFile(content), target(overrides)))).issues;
}

/** Staging folders get their own directory so leftovers (temp files) are easy to see. */
async function stagingDir(): Promise<string> {
  const path = join(dir, `stage-${++fileCount}`);
  await mkdir(path);
  return path;
}

describe('validateInputFile', () => {
  test('accepts a valid file and reports its requests, bytes and models', async () => {
    const content = jsonl([request('a'), request('b'), request('c')]);
    const result = await validateInputFile(await inputFile(content), target());
    expect(result).toEqual({ requestCount: 3, bytes: Buffer.byteLength(content), models: ['gpt-4o-mini'], warnings: [], stagedPath: null, parts: null });
  });

  test('a provider check adds its problems by line and its warnings once each', async () => {
    const content = jsonl([request('a'), request('b'), request('c')]);
    const checkPayload = (payload: Record<string, unknown>) =>
      (payload.messages as unknown[]).length > 0 && payload.model === 'gpt-4o-mini'
        ? { problems: [{ field: 'body.n', message: 'n > 1 is not supported' }], warnings: ['body.seed: dropped'] }
        : { problems: [], warnings: [] };
    const err = await validateInputFile(await inputFile(content), { ...target(), checkPayload }).catch((e) => e);
    expect(err).toBeInstanceOf(InputValidationError);
    expect((err as InputValidationError).issues).toEqual([1, 2, 3].map((line) => ({ line, field: 'body.n', message: 'n > 1 is not supported' })));
    const ok = await validateInputFile(await inputFile(content), { ...target(), checkPayload: () => ({ problems: [], warnings: ['body.seed: dropped'] }) });
    expect(ok.warnings).toEqual(['body.seed: dropped']);
  });

  test('lists distinct models in first-seen order when the provider allows several', async () => {
    const content = jsonl([request('a', { model: 'm2' }), request('b', { model: 'm1' }), request('c', { model: 'm2' })]);
    const result = await validateInputFile(await inputFile(content), target({ capabilities: PROVIDERS.anthropic }));
    expect(result.models).toEqual(['m2', 'm1']);
  });

  describe('file-level problems are one issue without a line', () => {
    test.each([
      ['a missing file', async () => join(dir, 'no-such-file.jsonl'), 'file not found'],
      ['a directory', async () => stagingDir(), 'is a directory, not a file'],
      ['an empty file', async () => inputFile(''), 'file is empty'],
      ['a file of blank lines', async () => inputFile('\n  \n\t\r\n'), 'file has no requests, only blank lines'],
    ])('%s', async (_name, makePath, message) => {
      const error = await validationError(validateInputFile(await makePath(), target({ file: 'given/name.jsonl' })));
      expect(error.issues).toEqual([{ message }]);
      expect(error.totalIssues).toBe(1);
      expect(error.file).toBe('given/name.jsonl');
    });

    // Root reads any file whatever its mode: as root, the check runs in a child process as user `nobody`.
    test('an unreadable file', async () => {
      const path = await inputFile(jsonl([request('a')]));
      await chmod(path, 0o000);
      if (process.getuid?.() !== 0) {
        const error = await validationError(validateInputFile(path, target()));
        expect(error.issues).toEqual([{ message: 'file cannot be read (permission denied)' }]);
        return;
      }
      await chmod(dirname(path), 0o755);
      const validation = JSON.stringify(resolve(__dirname, '../../dist/src/validation/index.js'));
      const catalog = JSON.stringify(resolve(__dirname, '../../dist/src/providers/catalog.js'));
      // The child loads the code as root (the clone may sit where \`nobody\` cannot read), then becomes \`nobody\`.
      const script = `const { validateInputFile } = require(${validation}); const { PROVIDERS } = require(${catalog});
        process.setgid(65534); process.setuid(65534);
        validateInputFile(${JSON.stringify(path)}, { file: 'f', endpoint: '/v1/chat/completions', capabilities: PROVIDERS.openai })
          .then(() => console.log('null'), (e) => console.log(JSON.stringify(e.issues)))`;
      const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual([{ message: 'file cannot be read (permission denied)' }]);
    });
  });

  describe('a bad line is reported with its number and field', () => {
    test.each<[string, unknown, InputIssue]>([
      ['not JSON', '{"custom_id": }', { line: 2, message: "not valid JSON: Unexpected token '}'" }],
      ['JSON cut short', '{"custom_id": "x"', { line: 2, message: "not valid JSON: Expected ',' or '}' after property value at position 17" }],
      ['JSON that is an array', '[1, 2]', { line: 2, message: 'must be a JSON object, got an array' }],
      ['JSON that is a string', '"text"', { line: 2, message: 'must be a JSON object, got a string' }],
      ['custom_id missing', { ...request('x'), custom_id: undefined }, { line: 2, field: 'custom_id', message: 'custom_id is missing' }],
      ['custom_id empty', request(''), { line: 2, field: 'custom_id', message: 'custom_id is empty' }],
      ['custom_id not a string', { ...request('x'), custom_id: 7 }, { line: 2, field: 'custom_id', message: 'custom_id must be a string, got a number' }],
      ['method not POST', { ...request('x'), method: 'GET' }, { line: 2, field: 'method', message: 'method must be "POST", got "GET"' }],
      ['method missing', { ...request('x'), method: undefined }, { line: 2, field: 'method', message: 'method must be "POST", it is missing' }],
      [
        'url not the endpoint',
        { ...request('x'), url: '/v1/embeddings' },
        { line: 2, field: 'url', message: 'url must be the batch endpoint "/v1/chat/completions", got "/v1/embeddings"' },
      ],
      ['body missing', { ...request('x'), body: undefined }, { line: 2, field: 'body', message: 'body is missing' }],
      ['body not an object', { ...request('x'), body: [] }, { line: 2, field: 'body', message: 'body must be an object, got an array' }],
      ['body.model missing', request('x', { model: undefined }), { line: 2, field: 'body.model', message: 'body.model is missing' }],
      ['body.model empty', request('x', { model: '' }), { line: 2, field: 'body.model', message: 'body.model must be a non-empty string, got ""' }],
      ['body.model not a string', request('x', { model: 4 }), { line: 2, field: 'body.model', message: 'body.model must be a non-empty string, got a number' }],
      ['body.stream true', request('x', { stream: true }), { line: 2, field: 'body.stream', message: 'stream: true is not allowed in a batch' }],
    ])('%s', async (_name, badLine, issue) => {
      expect(await issuesOf(jsonl([request('ok'), badLine]))).toEqual([issue]);
    });

    test('invalid UTF-8', async () => {
      // 0xc3 starts a two-byte sequence that '(' cannot continue.
      const bad = Buffer.concat([Buffer.from('{"custom_id": "x'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]);
      const content = Buffer.concat([Buffer.from(jsonl([request('ok')])), bad]);
      expect(await issuesOf(content)).toEqual([{ line: 2, message: 'not valid UTF-8' }]);
    });

    test('the JSON parser reason quotes non-ASCII characters as written', async () => {
      expect(await issuesOf('{"custom_id": é}\n')).toEqual([{ line: 1, message: "not valid JSON: Unexpected token 'é'" }]);
    });

    test('every problem of one line is listed, in field order', async () => {
      const issues = await issuesOf(jsonl([{ custom_id: 1, method: 'PUT', url: '/x', body: { stream: true } }]));
      expect(issues.map((issue) => issue.field)).toEqual(['custom_id', 'method', 'url', 'body.model', 'body.stream']);
      expect(issues.every((issue) => issue.line === 1)).toBe(true);
    });
  });

  describe('custom_id uniqueness', () => {
    test('a duplicate is reported on the later line, naming the first', async () => {
      const issues = await issuesOf(jsonl([request('a'), request('b'), request('a')]));
      expect(issues).toEqual([{ line: 3, field: 'custom_id', message: 'custom_id "a" is also used on line 1' }]);
    });

    test('long ids are told apart and their duplicates still found', async () => {
      const long = (suffix: string) => `${'x'.repeat(100)}${suffix}`;
      const issues = await issuesOf(jsonl([request(long('1')), request(long('2')), request(long('1'))]));
      expect(issues).toEqual([{ line: 3, field: 'custom_id', message: `custom_id "${'x'.repeat(40)}…" is also used on line 1` }]);
    });

    test('an id written with \\u escapes is the same id as its raw UTF-8 spelling', async () => {
      const rest = '"method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}';
      const issues = await issuesOf(`{"custom_id":"café",${rest}\n{"custom_id":"caf\\u00e9",${rest}\n`);
      expect(issues).toEqual([{ line: 2, field: 'custom_id', message: 'custom_id "café" is also used on line 1' }]);
    });
  });

  describe('one model per batch', () => {
    test('each line whose model differs from the first line is reported, naming both', async () => {
      const content = jsonl(['m1', 'm2', 'm1', 'm3'].map((model, i) => request(`r${i}`, { model })));
      expect(await issuesOf(content)).toEqual([
        { line: 2, field: 'body.model', message: 'model "m2" differs from "m1" on line 1 (openai takes one model per batch)' },
        { line: 4, field: 'body.model', message: 'model "m3" differs from "m1" on line 1 (openai takes one model per batch)' },
      ]);
    });

    test('mixed models pass when the provider allows them', async () => {
      const content = jsonl([request('a', { model: 'm1' }), request('b', { model: 'm2' })]);
      const result = await validateInputFile(await inputFile(content), target({ capabilities: PROVIDERS.anthropic }));
      expect(result.models).toEqual(['m1', 'm2']);
    });
  });

  describe("custom_ids the provider's rule would refuse: the user's ids are theirs", () => {
    test("a custom_id longer than the provider's limit is not refused (its adapter remaps it: test/sandbox/custom-ids.test.ts)", async () => {
      const long = 'x'.repeat(65);
      const wide = 'é'.repeat(64);
      const content = jsonl([request('ok', { model: 'm' }), request(long, { model: 'm' }), request(wide, { model: 'm' })]);
      expect((await validateInputFile(await inputFile(content), target({ capabilities: PROVIDERS.together }))).requestCount).toBe(3);
      const dotted = jsonl([request('a.b c', { model: 'm' }), request(`${long}.x`, { model: 'm' })]);
      expect((await validateInputFile(await inputFile(dotted), target({ capabilities: PROVIDERS.anthropic }))).requestCount).toBe(2);
    });

    test('providers without a limit take long custom_ids', async () => {
      const result = await validateInputFile(await inputFile(jsonl([request('y'.repeat(300))])), target());
      expect(result.requestCount).toBe(1);
    });
  });

  test('lists the first 20 issues and counts them all', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => ({ ...request(`r${i}`), method: 'GET' }));
    const error = await validationError(validateInputFile(await inputFile(jsonl(lines)), target()));
    expect(error.totalIssues).toBe(30);
    expect(error.issues.map((issue) => issue.line)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(error.message).toContain('... and 10 more');
  });

  describe('line framing', () => {
    test('CRLF line endings are accepted and staged as LF', async () => {
      const stageTo = join(await stagingDir(), 'staged.jsonl');
      const lines = [JSON.stringify(request('a')), JSON.stringify(request('b'))];
      const result = await validateInputFile(await inputFile(lines.join('\r\n') + '\r\n'), target(), { stageTo });
      expect(await readFile(stageTo, 'utf8')).toBe(lines.join('\n') + '\n');
      expect(result.bytes).toBe(Buffer.byteLength(lines.join('\n') + '\n'));
    });

    test('a UTF-8 BOM at the start is accepted and not staged', async () => {
      const stageTo = join(await stagingDir(), 'staged.jsonl');
      const content = jsonl([request('a')]);
      await validateInputFile(await inputFile('\ufeff' + content), target(), { stageTo });
      expect(await readFile(stageTo, 'utf8')).toBe(content);
    });

    test('blank and whitespace-only lines are skipped but still counted in line numbers', async () => {
      const content = `\n${JSON.stringify(request('a'))}\n   \n\t\r\n${JSON.stringify({ ...request('b'), method: 'GET' })}\n`;
      expect(await issuesOf(content)).toEqual([{ line: 5, field: 'method', message: 'method must be "POST", got "GET"' }]);
    });

    test('blank lines are not staged', async () => {
      const stageTo = join(await stagingDir(), 'staged.jsonl');
      const [a, b] = [JSON.stringify(request('a')), JSON.stringify(request('b'))];
      const result = await validateInputFile(await inputFile(`\n${a}\n \n\n${b}\n\n`), target(), { stageTo });
      expect(await readFile(stageTo, 'utf8')).toBe(`${a}\n${b}\n`);
      expect(result.requestCount).toBe(2);
    });

    test('a last line without a newline is accepted and staged with one', async () => {
      const stageTo = join(await stagingDir(), 'staged.jsonl');
      const line = JSON.stringify(request('a'));
      await validateInputFile(await inputFile(line), target(), { stageTo });
      expect(await readFile(stageTo, 'utf8')).toBe(`${line}\n`);
    });

    test('lines that span read chunks are joined, and numbered, correctly', async () => {
      // About 1.5 MB of lines of varying length, so many lines cross the reader's chunk boundaries.
      const lines = Array.from({ length: 3000 }, (_, i) =>
        JSON.stringify(request(`r${i}`, { messages: [{ role: 'user', content: 'é'.repeat(i % 500) }] })),
      );
      lines.push(JSON.stringify(request('r1234')));
      const stageTo = join(await stagingDir(), 'staged.jsonl');
      const path = await inputFile(lines.slice(0, -1).join('\n') + '\n');
      await validateInputFile(path, target(), { stageTo });
      expect(await readFile(stageTo, 'utf8')).toBe(await readFile(path, 'utf8'));
      expect(await issuesOf(lines.join('\n'))).toEqual([
        { line: 3001, field: 'custom_id', message: 'custom_id "r1234" is also used on line 1235' },
      ]);
    });
  });

  describe('staging', () => {
    test('writes exactly the request lines and returns the staged path', async () => {
      const folder = await stagingDir();
      const stageTo = join(folder, 'staged.jsonl');
      const content = jsonl([request('a'), request('b')]);
      const result = await validateInputFile(await inputFile(content), target(), { stageTo });
      expect(result.stagedPath).toBe(stageTo);
      expect(await readFile(stageTo, 'utf8')).toBe(content);
      expect((await readdir(folder)).sort()).toEqual(['staged.ids.jsonl', 'staged.jsonl']);
      // The request ids, kept beside the staged copy, account for every request should the copy be lost.
      expect(await readFile(join(folder, 'staged.ids.jsonl'), 'utf8')).toBe('"a"\n"b"\n');
    });

    test('leaves nothing behind when the input is invalid', async () => {
      const folder = await stagingDir();
      const content = jsonl([request('a'), request('a')]);
      await validationError(validateInputFile(await inputFile(content), target(), { stageTo: join(folder, 'staged.jsonl') }));
      expect(await readdir(folder)).toEqual([]);
    });

    test('leaves nothing behind when the input is missing', async () => {
      const folder = await stagingDir();
      await validationError(validateInputFile(join(dir, 'missing.jsonl'), target(), { stageTo: join(folder, 'staged.jsonl') }));
      expect(await readdir(folder)).toEqual([]);
    });

    test('a folder that does not exist fails with the file system error', async () => {
      const path = await inputFile(jsonl([request('a')]));
      const stageTo = join(dir, 'no-folder', 'staged.jsonl');
      await expect(validateInputFile(path, target(), { stageTo })).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  describe('/v1/messages lines are {custom_id, params}', () => {
    const messages = (customId: string, params: unknown) => ({ custom_id: customId, params });
    const messagesTarget = { endpoint: '/v1/messages', capabilities: PROVIDERS.anthropic };

    test('a valid file passes without method or url', async () => {
      const content = jsonl([messages('a', { model: 'claude-x', max_tokens: 10, messages: [] })]);
      const result = await validateInputFile(await inputFile(content), target(messagesTarget));
      expect(result).toMatchObject({ requestCount: 1, models: ['claude-x'] });
    });

    test.each<[string, unknown, InputIssue]>([
      [
        'params missing',
        { custom_id: 'a', body: { model: 'm' } },
        { line: 1, field: 'params', message: 'params is missing (/v1/messages lines are {"custom_id", "params"})' },
      ],
      ['params not an object', messages('a', 'x'), { line: 1, field: 'params', message: 'params must be an object, got a string' }],
      ['params.model missing', messages('a', { max_tokens: 1 }), { line: 1, field: 'params.model', message: 'params.model is missing' }],
      ['params.stream true', messages('a', { model: 'm', stream: true }), { line: 1, field: 'params.stream', message: 'stream: true is not allowed in a batch' }],
    ])('%s', async (_name, line, issue) => {
      expect(await issuesOf(jsonl([line]), messagesTarget)).toEqual([issue]);
    });
  });

  describe('batch limits', () => {
    const three = jsonl([request('a'), request('b'), request('c')]);
    const small: ProviderCapabilities = { ...PROVIDERS.openai, maxRequestsPerBatch: 2, maxBytesPerBatch: 1000 };

    test.each<[string, Partial<ValidationTarget>, string]>([
      ['more requests than maxRequests', { maxRequests: 2 }, '3 requests, more than the 2 allowed in one batch: split the file'],
      ['more requests than the provider allows', { capabilities: small, maxRequests: 5 }, '3 requests, more than the 2 allowed in one batch: split the file'],
      [
        'more bytes than maxBytes',
        { maxBytes: 300 },
        `${Buffer.byteLength(three)} bytes of requests, more than the 300 bytes allowed in one batch: split the file`,
      ],
    ])('%s is one issue', async (_name, overrides, message) => {
      expect(await issuesOf(three, overrides)).toEqual([{ message }]);
    });

    test('are not enforced when enforceBatchLimits is false', async () => {
      const result = await validateInputFile(await inputFile(three), target({ maxRequests: 1, maxBytes: 300, enforceBatchLimits: false }));
      expect(result).toMatchObject({ requestCount: 3, bytes: Buffer.byteLength(three) });
    });

    test('a single line larger than a whole batch is reported even when limits are not enforced', async () => {
      const content = jsonl([request('a'), request('b', { messages: [{ role: 'user', content: 'x'.repeat(2000) }] })]);
      const issues = await issuesOf(content, { maxBytes: 1024, enforceBatchLimits: false });
      const message = /^line is 2\.\d KB \(\d+ bytes\), more than fits in one batch \(1\.0 KB \(1024 bytes\)\)$/;
      expect(issues).toEqual([{ line: 2, message: expect.stringMatching(message) }]);
    });
  });

  describe('usage errors are thrown before the file is read', () => {
    test('an endpoint the provider does not support', async () => {
      const run = validateInputFile(join(dir, 'never-read.jsonl'), target({ endpoint: '/v1/messages' }));
      await expect(run).rejects.toBeInstanceOf(UsageError);
      await expect(run).rejects.toThrow(`supported endpoints: ${PROVIDERS.openai.endpoints.join(', ')}`);
    });

    test.each([0, -1, 1.5, Number.NaN])('maxRequests %p', async (maxRequests) => {
      await expect(validateInputFile(join(dir, 'never-read.jsonl'), target({ maxRequests }))).rejects.toBeInstanceOf(UsageError);
    });
  });
});

describe('LineSplitter', () => {
  /** Feeds `input` one byte per chunk, the worst case for lines, CRLFs and the BOM split across chunks. */
  function split(input: Buffer, maxLineBytes = 100): Array<[number, string]> {
    const seen: Array<[number, string]> = [];
    const splitter = new LineSplitter(
      {
        line: (bytes, lineNumber) => seen.push([lineNumber, bytes.toString('utf8')]),
        oversized: (lineNumber, bytes) => seen.push([lineNumber, `oversized ${bytes}`]),
      },
      maxLineBytes,
    );
    for (const byte of input) splitter.push(Buffer.from([byte]));
    splitter.end();
    return seen;
  }

  test('joins lines, CRLFs and a BOM split across chunks', () => {
    expect(split(Buffer.from('\ufeff{"a":1}\r\n\r\n{"é":2}\n{"c":3}'))).toEqual([
      [1, '{"a":1}'],
      [3, '{"é":2}'],
      [4, '{"c":3}'],
    ]);
  });

  test('drops a line longer than the limit and reports its full size', () => {
    expect(split(Buffer.from(`${'x'.repeat(12)}\nshort\n`), 10)).toEqual([
      [1, 'oversized 12'],
      [2, 'short'],
    ]);
  });

  test('a BOM only counts at the start of the input', () => {
    expect(split(Buffer.from('{}\n\ufeff{}\n'))).toEqual([
      [1, '{}'],
      [2, '\ufeff{}'],
    ]);
  });
});

describe("a provider's minimum requests per batch", () => {
  test('fewer requests than Cerebras takes are refused, whatever the batch limits; its minimum itself is accepted', async () => {
    const few = jsonl(Array.from({ length: 9 }, (_, i) => request(`r${i}`, { model: 'llama3.1-8b' })));
    const issues = await issuesOf(few, { capabilities: PROVIDERS.cerebras });
    expect(issues).toEqual([{ message: '9 requests, fewer than the 10 cerebras takes in one batch' }]);
    // Splitting cannot help, so it is refused even where batch limits are left to the splitter.
    expect(await issuesOf(few, { capabilities: PROVIDERS.cerebras, enforceBatchLimits: false })).toHaveLength(1);
    const enough = jsonl(Array.from({ length: 10 }, (_, i) => request(`r${i}`, { model: 'llama3.1-8b' })));
    expect((await validateInputFile(await inputFile(enough), target({ capabilities: PROVIDERS.cerebras }))).requestCount).toBe(10);
  });
});
