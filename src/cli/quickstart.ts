/**
 * `npm start`: the main job on the embedded default. Starts (or reuses) a Temporal dev server, the
 * sandbox provider and a worker, runs examples/chat.jsonl to the end and says where everything is.
 * The worker and the sandbox stop after the batch; a server started here stays up for its Web UI until
 * Ctrl-C on a terminal, and stops at once elsewhere (CI, pipes). A reused server is left running.
 */
import path from 'node:path';
import { Runtime } from '@temporalio/worker';
import { workerLogger } from '../logging';
import { createBatch, resultLinesOf } from '../api';
import type { AnybatchBatch } from '../contract/batch';
import { startSandbox } from '../sandbox';
import type { DevServer } from '../temporal/devserver';
import { packageRoot } from '../temporal/tools';
import { summary } from './format';
import { waitForBatch } from './wait';
import { startEmbeddedTemporal } from './dev';

/** The Web UI `anybatch dev` opens by default (port 7233 + 1000). */
export const DEFAULT_DEV_UI_URL = 'http://127.0.0.1:8233';

export interface WebUiNoticeInput {
  /** The Web UI of the server the batch ran on (null: none found). */
  uiUrl: string | null;
  /** Temporal's address. */
  address: string;
  /** True when this run started the server (false: reused, it stays up). */
  started: boolean;
  /** stdin and stdout are a terminal: the server stays up until Ctrl-C. */
  interactive: boolean;
  workflowId: string;
  namespace?: string;
  /** ANYBATCH_HOME when set (repeated in the `anybatch dev` command so it opens the same database). */
  home?: string;
}

/**
 * What `npm start` says about the Web UI once the batch is done. A link is printed as live only when
 * the server stays up; otherwise the lines say how to bring the UI back.
 */
export function webUiNotice(n: WebUiNoticeInput): string {
  const page = `/namespaces/${n.namespace ?? 'default'}/workflows/${n.workflowId}`;
  if (!n.started) {
    return n.uiUrl
      ? `Temporal Web UI: ${n.uiUrl}${page} (this Temporal was already running and stays up)\n`
      : `Temporal at ${n.address} was already running (no Web UI found next to it); the batch is workflow ${n.workflowId}.\n`;
  }
  if (n.interactive && n.uiUrl) return `Temporal Web UI: ${n.uiUrl}${page} — Ctrl-C stops the server\n`;
  const dev = n.home ? `ANYBATCH_HOME=${n.home} npx anybatch dev` : 'npx anybatch dev';
  const open = n.uiUrl === DEFAULT_DEV_UI_URL ? `${DEFAULT_DEV_UI_URL}${page}` : `the Web UI address it prints, followed by ${page}`;
  return (
    `Temporal stopped with this run (not on a terminal). To see the batch in the Web UI again, run\n` +
    `  ${dev}\n` +
    `and then open ${open}\n`
  );
}

/** Resolves on Ctrl-C (SIGINT), SIGTERM, or when the server exits by itself. */
function untilInterrupted(server: DevServer): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    void server.exited?.then(done);
  });
}

export async function runQuickstart(opts: { file?: string } = {}): Promise<void> {
  const file = opts.file ?? path.join(packageRoot(), 'examples', 'chat.jsonl');
  process.stderr.write('Starting Temporal (embedded dev server) ...\n');
  const server = await startEmbeddedTemporal({ port: 7233 });
  let final: AnybatchBatch;
  try {
    final = await runExample(server, file);
  } catch (err) {
    await server.stop();
    throw err;
  }
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  process.stdout.write(
    '\n' +
      webUiNotice({
        uiUrl: server.uiUrl,
        address: server.address,
        started: server.started,
        interactive,
        workflowId: final.id,
        home: process.env.ANYBATCH_HOME || undefined,
      }),
  );
  if (server.started && interactive && server.uiUrl) {
    await untilInterrupted(server);
    process.stderr.write('\nStopping Temporal ...\n');
  }
  await server.stop();
}

/** Sandbox and worker for the one batch; both are stopped before this returns. */
async function runExample(server: DevServer, file: string): Promise<AnybatchBatch> {
  const sandbox = await startSandbox({ port: 0, rate: 25 });
  try {
    const { createWorker } = await import('../../worker');
    // The walkthrough prints its own progress; the SDK's INFO lines would drown it.
    Runtime.install({ logger: workerLogger('WARN') });
    const worker = await createWorker({ address: server.address });
    const running = worker.run();
    try {
      const how = server.started ? '' : ` (already running${server.pid ? `, pid ${server.pid}` : ''})`;
      process.stderr.write(`Temporal ${server.address}${how}${server.uiUrl ? `, Web UI ${server.uiUrl}` : ''}; sandbox provider ${sandbox.url}\n`);
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
        // Read through the store, as any client reads a batch's results (output first: its first line is the first result).
        for await (const line of resultLinesOf(final)) {
          const reply = line as unknown as { custom_id: string; response: { body: { choices: { message: { content: string } }[] } } };
          process.stdout.write(`\nFirst result (${reply.custom_id}): ${reply.response.body.choices[0]?.message.content}\n`);
          break;
        }
      }
      process.stdout.write(`Results: ${final.anybatch.results_dir}\n`);
      return final;
    } finally {
      worker.shutdown();
      await running;
    }
  } finally {
    await sandbox.close();
  }
}
