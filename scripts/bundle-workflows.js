#!/usr/bin/env node
// Prebuilds the workflow bundles (part of `npm run build`): the compiled worker then starts without webpack.
// `node scripts/bundle-workflows.js [OUT]` writes OUT (default dist/workflow-bundle.js) and its traced sibling
// (OUT with `-otel` before `.js`): the same workflows with Temporal's OpenTelemetry workflow interceptor, which the
// worker runs only when the OTEL_* variables turn traces on (src/temporal/tracing.ts, worker.ts `workflowSource`).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { bundleWorkflowCode } = require('@temporalio/worker');

// As src/temporal/tracing.ts WORKFLOW_INTERCEPTORS_MODULE.
const OTEL_WORKFLOW_INTERCEPTORS = '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';

const out = process.argv[2] || path.join(__dirname, '..', 'dist', 'workflow-bundle.js');
const tracedOut = out.replace(/\.js$/, '') + '-otel.js';
const workflowsPath = require.resolve('../dist/src/workflows');

async function write(target, options) {
  const { code } = await bundleWorkflowCode({ workflowsPath, ...options });
  fs.writeFileSync(target, code);
  console.log(`workflow bundle: ${target} (${Math.round(code.length / 1024)} KiB)`);
}

(async () => {
  await write(out, {});
  await write(tracedOut, { workflowInterceptorModules: [require.resolve(OTEL_WORKFLOW_INTERCEPTORS)] });
})().catch((err) => {
  console.error(`workflow bundle failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
