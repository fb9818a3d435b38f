/**
 * `anybatch serve`: the HTTP gateway (src/gateway) in the foreground until SIGINT/SIGTERM, on loopback unless `--host`
 * says otherwise. Prints where it listens and the base URL of each provider's path.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { createGateway, readKeysFile } from '../gateway';
import { UsageError } from '../errors';
import { isProviderName, supportedProviders, type ProviderName } from '../providers/registry';

interface ServeOpts {
  port: number;
  host: string;
  defaultProvider?: string;
  keys?: string;
  maxUploadBytes?: number;
  log?: boolean;
  pollInterval?: string;
}

interface GlobalOpts {
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

export function registerServeCommand(program: Command, positiveInt: (flag: string) => (v: string) => number): void {
  program
    .command('serve')
    .description("serve OpenAI's Files and Batches API over HTTP, each batch a durable anybatch batch, for every provider (/<provider>/v1/...)")
    .addOption(new Option('--port <n>', 'port to listen on').argParser(positiveInt('--port')).default(8090))
    .option('--host <host>', 'address to listen on (default loopback; 0.0.0.0 for every interface)', '127.0.0.1')
    .option('--default-provider <name>', `the provider of /v1/... (${supportedProviders().join(', ')})`)
    .option('--keys <file>', 'a JSON keys file: the gateway issues its own keys, each a tenant with provider credentials the gateway holds')
    .addOption(new Option('--max-upload-bytes <n>', 'largest file upload taken (default 2 GiB)').argParser(positiveInt('--max-upload-bytes')))
    .option('--poll-interval <duration>', "how often each batch's parts are checked at the provider (createBatch's pollInterval, e.g. 30s)")
    .option('--log', 'log each request (method, path, status, time) to stderr')
    .action(async (o: ServeOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOpts>();
      if (o.defaultProvider !== undefined && !isProviderName(o.defaultProvider)) {
        throw new UsageError(`--default-provider ${JSON.stringify(o.defaultProvider)} is not a provider; supported: ${supportedProviders().join(', ')}.`);
      }
      let keys;
      try {
        keys = o.keys !== undefined ? readKeysFile(o.keys) : undefined;
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const gateway = createGateway({
        ...(o.defaultProvider ? { defaultProvider: o.defaultProvider as ProviderName } : {}),
        ...(keys ? { keys } : {}),
        ...(o.maxUploadBytes ? { maxUploadBytes: o.maxUploadBytes } : {}),
        ...(o.pollInterval ? { batchDefaults: { pollInterval: o.pollInterval } } : {}),
        client: { temporal: { address: g.address, namespace: g.namespace }, taskQueue: g.taskQueue },
        ...(o.log ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
      });
      await new Promise<void>((resolve, reject) => {
        gateway.server.once('error', reject);
        gateway.server.listen(o.port, o.host, () => resolve());
      });
      const address = gateway.server.address();
      const port = typeof address === 'object' && address ? address.port : o.port;
      const base = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
      process.stdout.write(`anybatch gateway listening on ${base} (${keys ? `${keys.length} gateway keys` : "callers' bearer tokens are their provider keys"})\n`);
      if (o.defaultProvider) process.stdout.write(`  /v1          ${o.defaultProvider}: ${base}/v1\n`);
      for (const provider of supportedProviders()) process.stdout.write(`  ${provider.padEnd(18)} ${base}/${provider}/v1\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void gateway.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
