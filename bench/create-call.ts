/**
 * anybatch's side of the submit comparison in `npm run bench`, shaped like bench/peer.py: one library call
 * (`createBatch`) in its own process, which prints the batch id, the call's own wall time and the peak RSS.
 *
 *   node dist/bench/create-call.js FILE --api-base URL
 */
import { createBatch } from '../src/api';

async function main(): Promise<void> {
  const file = process.argv[2];
  const apiBase = process.argv[process.argv.indexOf('--api-base') + 1];
  const started = process.hrtime.bigint();
  const batch = await createBatch('openai', file, '/v1/chat/completions', { apiBase, apiKey: 'bench', pollInterval: '1s' });
  const callSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ batch_id: batch.id, status: batch.status, call_seconds: callSeconds, peak_rss_kb: process.resourceUsage().maxRSS }));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
