/**
 * The shape of src/, checked: layers point one way.
 * - No import cycles anywhere in src/ (type-only imports count: a cycle of types is still a knot to untie).
 * - src/contract/ is the ground floor: it imports nothing of ours outside itself, and of packages only Temporal's
 *   workflow-safe ones (handler definitions) and OpenAI's types (the `Batch` shape), type-only.
 * - Workflow code (src/workflows/) imports only the contract, other workflow code and the pure modules listed below,
 *   and every pure module imports only the contract, other pure modules and workflow-safe packages.
 * - Providers (src/providers/) never import Temporal, workflows or activities: the Temporal-speaking part of the
 *   online mode lives in src/online/ and reaches the adapter through its host interface.
 * - The store (src/storage/) never imports activities, workflows or Temporal: a batch's files (batch-files.ts) are
 *   storage, and the activities are only their glue.
 * - Outside src/storage/ nothing checks for the local folder store by hand (`LocalBlobStore`, `kind === 'local'`): a
 *   batch's files are reached through the store's interface (`localFile`, `removeFolder`) or a batch's `BatchFiles`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { importCycles } from '../support/import-cycles';

const ROOT = path.join(__dirname, '..', '..');
const SRC = path.join(ROOT, 'src');

/** Modules workflow code may import besides the contract: pure data and logic, no I/O, no Node, no SDK. */
const PURE = new Set([
  'src/admission/budget.ts',
  'src/admission/messages.ts',
  'src/online/messages.ts',
  'src/online/checkpoint.ts',
  'src/providers/capabilities.ts',
]);

/** Packages workflow code (and the contract) may import. */
const WORKFLOW_SAFE_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common']);

interface Import {
  target: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function rel(file: string): string {
  return path.relative(ROOT, file).split(path.sep).join('/');
}

/** Every import of a file: relative ones resolved to files, packages by name (`node:fs` stays `node:fs`). */
function importsOf(file: string): { local: Import[]; packages: Import[] } {
  const text = fs.readFileSync(file, 'utf8');
  const local: Import[] = [];
  const packages: Import[] = [];
  const pattern = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'|import\s*\(\s*'([^']+)'\s*\)/g;
  for (const m of text.matchAll(pattern)) {
    const spec = m[3] ?? m[4];
    const typeOnly = m[2] !== undefined || (m[4] !== undefined && /typeof\s+import\s*\(\s*$|:\s*import\s*\(\s*$/.test(text.slice(0, m.index! + 1)));
    if (spec.startsWith('.')) {
      const base = path.resolve(path.dirname(file), spec);
      const found = [`${base}.ts`, path.join(base, 'index.ts')].find((candidate) => fs.existsSync(candidate));
      if (!found) throw new Error(`${rel(file)} imports ${spec}, which resolves to no file`);
      local.push({ target: rel(found), typeOnly });
    } else {
      packages.push({ target: spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0], typeOnly });
    }
  }
  return { local, packages };
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [rel(file), importsOf(file)]));

test('src/ has no import cycles, type-only imports included', () => {
  expect(importCycles(new Map([...graph].map(([file, { local }]) => [file, local.map((i) => i.target)])))).toEqual([]);
});

test('the contract imports nothing of ours outside it, and only workflow-safe packages (OpenAI for types only)', () => {
  const wrong: string[] = [];
  for (const [file, { local, packages }] of graph) {
    if (!file.startsWith('src/contract/')) continue;
    for (const i of local) if (!i.target.startsWith('src/contract/')) wrong.push(`${file} -> ${i.target}`);
    for (const p of packages) {
      const allowed = WORKFLOW_SAFE_PACKAGES.has(p.target) || (p.target === 'openai' && p.typeOnly);
      if (!allowed) wrong.push(`${file} -> ${p.target}${p.typeOnly ? ' (type)' : ''}`);
    }
  }
  expect(wrong).toEqual([]);
});

test('workflow code imports only the contract, workflow code and pure modules; pure modules stay pure', () => {
  const wrong: string[] = [];
  for (const [file, { local, packages }] of graph) {
    const workflow = file.startsWith('src/workflows/');
    if (!workflow && !PURE.has(file)) continue;
    for (const i of local) {
      const ok = i.target.startsWith('src/contract/') || PURE.has(i.target) || (workflow && i.target.startsWith('src/workflows/'));
      if (!ok) wrong.push(`${file} -> ${i.target}`);
    }
    for (const p of packages) if (!WORKFLOW_SAFE_PACKAGES.has(p.target)) wrong.push(`${file} -> ${p.target}`);
  }
  expect(wrong).toEqual([]);
});

test('activities never import workflow code (they meet in the contract)', () => {
  const wrong: string[] = [];
  for (const [file, { local }] of graph) {
    if (!file.startsWith('src/activities/')) continue;
    for (const i of local) if (i.target.startsWith('src/workflows/')) wrong.push(`${file} -> ${i.target}`);
  }
  expect(wrong).toEqual([]);
});

test('providers never import Temporal, workflows or activities', () => {
  const wrong: string[] = [];
  for (const [file, { local, packages }] of graph) {
    if (!file.startsWith('src/providers/')) continue;
    for (const i of local) if (i.target.startsWith('src/workflows/') || i.target.startsWith('src/activities/')) wrong.push(`${file} -> ${i.target}`);
    for (const p of packages) if (p.target.startsWith('@temporalio/')) wrong.push(`${file} -> ${p.target}`);
  }
  expect(wrong).toEqual([]);
});

test('the store never imports activities, workflows or Temporal', () => {
  const wrong: string[] = [];
  for (const [file, { local, packages }] of graph) {
    if (!file.startsWith('src/storage/')) continue;
    for (const i of local) if (i.target.startsWith('src/workflows/') || i.target.startsWith('src/activities/')) wrong.push(`${file} -> ${i.target}`);
    for (const p of packages) if (p.target.startsWith('@temporalio/')) wrong.push(`${file} -> ${p.target}`);
  }
  expect(wrong).toEqual([]);
});

test('outside src/storage/ nothing checks for the local folder store by hand', () => {
  const wrong: string[] = [];
  for (const file of graph.keys()) {
    if (file.startsWith('src/storage/')) continue;
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    for (const [n, line] of text.split('\n').entries()) {
      if (/\bLocalBlobStore\b|\bkind\s*[!=]==?\s*['"]local['"]/.test(line)) wrong.push(`${file}:${n + 1}: ${line.trim()}`);
    }
  }
  expect(wrong).toEqual([]);
});

test('the structure reader sees the imports it is meant to see', () => {
  // A guard against a reader that silently finds nothing (every rule above would then pass).
  expect(graph.get('src/workflows/index.ts')!.local.length).toBeGreaterThan(0);
  expect(graph.get('src/contract/messages.ts')!.packages.map((p) => p.target)).toContain('@temporalio/workflow');
  expect(graph.get('src/contract/batch.ts')!.packages).toContainEqual({ target: 'openai', typeOnly: true });
});
