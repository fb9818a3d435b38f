/** Finds the Temporal CLI and test server that `npm run setup` installed or found on PATH. */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { AnybatchError } from '../errors';

export type ToolName = 'temporal' | 'temporal-test-server';

/** The package root (holds package.json), whether running from sources or from dist/. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('anybatch: cannot find package root');
    dir = parent;
  }
  return dir;
}

const ENV_OVERRIDE: Record<ToolName, string> = {
  temporal: 'ANYBATCH_TEMPORAL_CLI',
  'temporal-test-server': 'ANYBATCH_TEMPORAL_TEST_SERVER',
};

export function findTool(name: ToolName): string {
  const override = process.env[ENV_OVERRIDE[name]];
  if (override) return override;
  const recordPath = path.join(packageRoot(), '.anybatch-tools.json');
  if (fs.existsSync(recordPath)) {
    const record = JSON.parse(fs.readFileSync(recordPath, 'utf8')) as Partial<Record<ToolName, string>>;
    const p = record[name];
    if (p && fs.existsSync(p)) return p;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = dir && path.join(dir, name);
    if (candidate && fs.existsSync(candidate) && spawnSync(candidate, ['--help'], { stdio: 'ignore' }).status === 0) {
      return candidate;
    }
  }
  throw new AnybatchError(
    'tool_missing',
    `${name} not found. Run \`npm run setup\` (it installs it), put it on PATH, or set ${ENV_OVERRIDE[name]}.`,
  );
}
