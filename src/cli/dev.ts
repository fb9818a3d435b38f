/**
 * `anybatch dev`: an embedded Temporal dev server (SQLite in $ANYBATCH_HOME, Web UI) and a worker. One
 * server per $ANYBATCH_HOME/temporal.db: a running one (named by temporal.db.json) is reused.
 */
import path from 'node:path';
import { anybatchHome } from '../config';
import { startDevServer } from '../temporal/devserver';
import type { DevServer } from '../temporal/devserver';

export interface DevOptions {
  port: number;
  uiPort?: number;
  namespace?: string;
  taskQueue?: string;
}

export async function startEmbeddedTemporal(opts: { port: number; uiPort?: number; namespace?: string }): Promise<DevServer> {
  const home = anybatchHome();
  return startDevServer({
    port: opts.port,
    uiPort: opts.uiPort,
    namespace: opts.namespace,
    dbFile: path.join(home, 'temporal.db'),
    logFile: path.join(home, 'temporal.log'),
  });
}

export async function runDev(opts: DevOptions): Promise<void> {
  const server = await startEmbeddedTemporal(opts);
  try {
    const { createWorker } = await import('../../worker');
    const worker = await createWorker({ address: server.address, namespace: opts.namespace, taskQueue: opts.taskQueue });
    const how = server.started ? 'started at' : `already running${server.pid ? ` (pid ${server.pid}, left running on exit)` : ''} at`;
    process.stderr.write(
      `anybatch dev: Temporal ${how} ${server.address}` +
        `${server.uiUrl ? `, Web UI ${server.uiUrl}` : ''}; worker on task queue "${worker.options.taskQueue}". Ctrl-C stops.\n` +
        `  export TEMPORAL_ADDRESS=${server.address}\n`,
    );
    await worker.run(); // ends on SIGINT/SIGTERM (the SDK's default shutdown signals)
  } finally {
    await server.stop(); // only a server started here (its state file goes with it)
  }
}
