/**
 * Runs the official Python clients (pinned in scripts/setup.js, installed by `npm run setup` into .tools/python)
 * against the sandbox, unchanged. A test that needs them fails loudly when Python or a client is missing: it is
 * never skipped, so a CI without them is red, not silently green.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const RECORD = path.join(ROOT, '.anybatch-tools.json');
const SETUP_HINT = 'Run `npm run setup` (it installs the pinned Python clients into .tools/python; it needs Python >= 3.10 with pip).';

export interface PythonRun {
  stdout: string;
  stderr: string;
}

/** The interpreter and the folder of the pinned clients, as setup recorded them (else python3 and .tools/python). */
function pythonTools(): { python: string; pythonPath: string } {
  let record: { python?: string; pythonPath?: string } = {};
  try {
    record = JSON.parse(fs.readFileSync(RECORD, 'utf8')) as typeof record;
  } catch {
    // No record yet: the defaults below, checked by the caller.
  }
  return { python: record.python ?? 'python3', pythonPath: record.pythonPath ?? path.join(ROOT, '.tools', 'python') };
}

/**
 * Runs `script` (Python source) with the pinned clients importable, the sandbox reachable without a proxy and
 * `env` added; resolves with its output when it exits 0, rejects with both streams otherwise. `modules` are
 * imported first: one missing is reported as what it is (a setup problem), not as a test failure.
 */
export async function runPython(script: string, opts: { env?: Record<string, string>; modules?: string[]; timeoutMs?: number } = {}): Promise<PythonRun> {
  const { python, pythonPath } = pythonTools();
  if (!fs.existsSync(pythonPath)) throw new Error(`The Python clients are not installed (${pythonPath} does not exist). ${SETUP_HINT}`);
  const imports = (opts.modules ?? []).map((m) => `import ${m}`).join('\n');
  const preamble = imports === '' ? '' : `try:\n${indent(imports)}\nexcept ImportError as e:\n    import sys\n    print("ANYBATCH_MISSING_MODULE: " + str(e), file=sys.stderr)\n    sys.exit(97)\n`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: [pythonPath, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
    // The sandbox is on loopback: no proxy of the machine's may stand in between.
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    ...opts.env,
  };
  for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy']) delete env[key];
  return new Promise<PythonRun>((resolve, reject) => {
    let child;
    try {
      child = spawn(python, ['-c', preamble + script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      reject(new Error(`Python (${python}) could not be started: ${(err as Error).message}. ${SETUP_HINT}`));
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`Python (${python}) could not be started: ${err.message}. ${SETUP_HINT}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      if (code === 97) return reject(new Error(`A pinned Python client is missing (${stderr.trim()}). ${SETUP_HINT}`));
      reject(new Error(`The Python client script failed (exit ${code ?? signal}).\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`));
    });
  });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/** The last line of `stdout` that is a JSON document: what a script printed as its result. */
export function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (line.startsWith('{') || line.startsWith('[')) return JSON.parse(line) as T;
  }
  throw new Error(`The Python client script printed no JSON result:\n${stdout}`);
}
