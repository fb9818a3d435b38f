#!/usr/bin/env node
/** The `anybatch` CLI entry point (see src/cli/main.ts). */
import { main } from './src/cli/main';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
