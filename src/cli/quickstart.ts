/**
 * `npm start`: the main job on the embedded default. Starts (or reuses) a Temporal dev server, the
 * sandbox provider and a worker, runs examples/chat.jsonl to the end and says where everything is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createBatch } from '../api';
import { startSandbox } from '../sandbox';
import { packageRoot } from '../temporal/tools';
import { summary } from './format';
import { waitForBatch } from './wait';
import { startEmbeddedTemporal } from './dev';

export async function runQuickstart(opts: { file?: string } = {}): Promise<void> {
  const file = opts.file ?? path.join(packageRoot(), 'examples', 'chat.jsonl');
  process.stderr.write('Starting Temporal (embedded dev server) ...\n');
  const server = await startEmbeddedTemporal({ port: 7233 });
  const sandbox = await startSandbox({ port: 0, rate: 25 });
  const { createWorker } = await import('../../worker');
  // The walkthrough prints its own progress; the SDK's INFO lines would drown it.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const worker = await createWorker({ address: server.address });
  const running = worker.run();
  try {
    process.stderr.write(`Temporal ${server.address}${server.uiUrl ? ` (Web UI ${server.uiUrl})` : ''}; sandbox provider ${sandbox.url}\n`);
    const temporal = { address: server.address };
    const batch = await createBatch('openai', file, '/v1/chat/completions', {
      temporal,
      apiBase: `${sandbox.url}/v1`,
      apiKey: 'sandbox',
      pollInterval: '1s',
      metadata: { example: 'quickstart' },
    });
    process.stderr.write(`Batch ${batch.id} accepted (provider batch ${batch.anybatch.provider_batches[0]?.id}); processing ...\n`);
    const final = await waitForBatch(batch.id, { temporal });
    process.stdout.write(summary(final) + '\n');
    const results = final.anybatch.results;
    if (results && results.output_count > 0) {
      const first = fs.readFileSync(results.output_path, 'utf8').split('\n', 1)[0];
      const reply = (JSON.parse(first) as { custom_id: string; response: { body: { choices: { message: { content: string } }[] } } });
      process.stdout.write(`\nFirst result (${reply.custom_id}): ${reply.response.body.choices[0]?.message.content}\n`);
    }
    if (server.uiUrl) process.stdout.write(`\nTemporal Web UI: ${server.uiUrl}/namespaces/default/workflows/${final.id}\n`);
    process.stdout.write(`Results: ${final.anybatch.results_dir}\n`);
  } finally {
    worker.shutdown();
    await running;
    await sandbox.close();
    await server.stop();
  }
}
