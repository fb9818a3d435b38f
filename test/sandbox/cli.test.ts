/** `anybatch sandbox`: option parsing, the startup line, and a clean stop on SIGTERM. */
import { Command } from 'commander';
import { UsageError } from '../../src/errors';
import { registerSandboxCommand } from '../../src/sandbox/cli';

function program(): Command {
  const root = new Command('anybatch').exitOverride();
  registerSandboxCommand(root);
  return root;
}

afterEach(() => jest.restoreAllMocks());

test('bad option values are usage errors', async () => {
  for (const args of [['--rate', 'fast'], ['--fault-429', '2'], ['--port', '70000'], ['--max-requests', '0']]) {
    await expect(program().parseAsync(['sandbox', ...args], { from: 'user' })).rejects.toBeInstanceOf(UsageError);
  }
});

test('the command prints its URL and one base URL per provider, serves the API and stops on SIGTERM', async () => {
  const printed: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  const before = process.listeners('SIGTERM');
  const running = program().parseAsync(['sandbox', '--port', '0', '--fault-429', '1', '--retry-after', '3', '--seed', '5'], { from: 'user' });
  while (printed.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));

  const match = /^anybatch sandbox listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(printed[0]);
  expect(match).not.toBeNull();
  const url = (match as RegExpExecArray)[1];
  expect(printed[0].split('\n').slice(1)).toEqual([
    `  openai       ${url}/openai/v1`,
    `  anthropic    ${url}/anthropic`,
    `  groq         ${url}/groq/openai/v1`,
    `  azureopenai  ${url}/azureopenai`,
    `  xai          ${url}/xai/v1`,
    `  gemini       ${url}/gemini`,
    `  mistral      ${url}/mistral`,
    `  together     ${url}/together/v1`,
    `  nebius       ${url}/nebius/v1`,
    `  dashscope    ${url}/dashscope/compatible-mode/v1`,
    `  moonshot     ${url}/moonshot/v1`,
    `  cerebras     ${url}/cerebras/v1`,
    `  bedrock      ${url}/bedrock`,
    `  gcs          ${url}/gcs`,
    `  vertexai     ${url}/vertexai`,
    '',
  ]);
  for (const path of ['/v1/batches', '/openai/v1/batches', '/groq/openai/v1/batches']) {
    const res = await fetch(`${url}${path}`, { headers: { authorization: 'Bearer k' } });
    expect([res.status, res.headers.get('retry-after')]).toEqual([429, '3']);
  }

  // Call only the command's own handler; emitting a real signal would reach jest's handlers too.
  for (const stop of process.listeners('SIGTERM').filter((l) => !before.includes(l))) stop('SIGTERM');
  await running;
  await expect(fetch(`${url}/_sandbox/stats`)).rejects.toThrow();
});
