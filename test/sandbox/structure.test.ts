/**
 * The sandbox's shape: no import cycles (type-only imports included), the kernel knows no provider, provider
 * modules know each other only as dialects of the OpenAI one, and nothing of the orchestrator is imported
 * except the pure limits table (and, for `anybatch sandbox`'s exit status, the CLI's UsageError).
 */
import fs from 'node:fs';
import path from 'node:path';
import { importCycles } from '../support/import-cycles';

const ROOT = path.join(__dirname, '..', '..');
const SANDBOX = path.join(ROOT, 'src', 'sandbox');

/** Outside the sandbox, only these may be imported, and only by these files. */
const ALLOWED_OUTSIDE: Record<string, string[]> = {
  'src/providers/catalog.ts': ['src/sandbox/kernel/limits.ts'],
  'src/errors.ts': ['src/sandbox/cli.ts'],
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative imports of a file (static, `export ... from`, dynamic and `import('...')` types), resolved to files. */
function localImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.[^']*)'/g)].map((m) => m[1]);
  return specifiers.map((spec) => {
    const base = path.resolve(path.dirname(file), spec);
    const candidates = [`${base}.ts`, path.join(base, 'index.ts')];
    const found = candidates.find((candidate) => fs.existsSync(candidate));
    if (!found) throw new Error(`${rel(file)} imports ${spec}, which resolves to no file`);
    return found;
  });
}

function rel(file: string): string {
  return path.relative(ROOT, file).split(path.sep).join('/');
}

const files = sourceFiles(SANDBOX);
const graph = new Map(files.map((file) => [rel(file), localImports(file).map(rel)]));

test('the sandbox has no import cycles', () => {
  expect(importCycles(graph)).toEqual([]);
});

test('nothing of the orchestrator is imported but the limits table (and the CLI its UsageError)', () => {
  const outside: string[] = [];
  for (const [file, imports] of graph) {
    for (const target of imports) {
      if (target.startsWith('src/sandbox/')) continue;
      if (!(ALLOWED_OUTSIDE[target] ?? []).includes(file)) outside.push(`${file} -> ${target}`);
    }
  }
  expect(outside).toEqual([]);
});

test('the kernel imports no provider module, and provider modules import no other but the OpenAI one', () => {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    const provider = /^src\/sandbox\/providers\/([^/]+)\//.exec(file)?.[1];
    for (const target of imports) {
      const targetProvider = /^src\/sandbox\/providers\/([^/]+)\//.exec(target)?.[1];
      const kernelLeak = file.startsWith('src/sandbox/kernel/') && target.startsWith('src/sandbox/') && !target.startsWith('src/sandbox/kernel/');
      const crossProvider = provider !== undefined && targetProvider !== undefined && targetProvider !== provider && targetProvider !== 'openai';
      const upward = provider !== undefined && /^src\/sandbox\/(index|server|cli)\.ts$/.test(target);
      if (kernelLeak || crossProvider || upward) wrong.push(`${file} -> ${target}`);
    }
  }
  expect(wrong).toEqual([]);
});
