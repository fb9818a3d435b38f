#!/usr/bin/env node
// Prebuilds the workflow bundle (part of `npm run build`): the compiled worker then starts without webpack.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { bundleWorkflowCode } = require('@temporalio/worker');

const out = process.argv[2] || path.join(__dirname, '..', 'dist', 'workflow-bundle.js');
bundleWorkflowCode({ workflowsPath: require.resolve('../dist/src/workflows') }).then(({ code }) => {
  fs.writeFileSync(out, code);
  console.log(`workflow bundle: ${out} (${Math.round(code.length / 1024)} KiB)`);
}).catch((err) => {
  console.error(`workflow bundle failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
