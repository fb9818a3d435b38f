// Preloaded (`node -r`) into a benchmarked process: writes its peak RSS in KiB to $BENCH_RSS_FILE on exit.
'use strict';
const fs = require('node:fs');
const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => fs.writeFileSync(file, String(process.resourceUsage().maxRSS)));
}
