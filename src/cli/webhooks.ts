/**
 * `anybatch webhooks`: the provider webhook receiver (src/webhooks/receiver.ts) on its own, in the foreground until
 * SIGINT/SIGTERM, on loopback unless `--host` says otherwise. OpenAI's events at `/webhooks/openai`, Gemini's at
 * `/webhooks/gemini`.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { createWebhookReceiver, GEMINI_WEBHOOK_SECRET_ENV, OPENAI_WEBHOOK_SECRET_ENV } from '../webhooks/receiver';
import { closeWebhooks, listenWebhooks } from '../webhooks/server';

interface GlobalOpts {
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

export function registerWebhooksCommand(program: Command, positiveInt: (flag: string) => (v: string) => number): void {
  program
    .command('webhooks')
    .description(`receive providers' batch webhooks (OpenAI's at /webhooks/openai, verified with ${OPENAI_WEBHOOK_SECRET_ENV}; Gemini's at /webhooks/gemini, verified with ${GEMINI_WEBHOOK_SECRET_ENV}) and wake the batches they name`)
    .addOption(new Option('--port <n>', 'port to listen on').argParser(positiveInt('--port')).default(8091))
    .option('--host <host>', 'address to listen on (default loopback)', '127.0.0.1')
    .action(async (o: { port: number; host: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOpts>();
      const receiver = createWebhookReceiver({ client: { temporal: { address: g.address, namespace: g.namespace }, taskQueue: g.taskQueue } });
      const server = await listenWebhooks(receiver, o.host, o.port);
      process.stdout.write(`anybatch webhooks listening on http://${o.host}:${o.port} (OpenAI: /webhooks/openai, Gemini: /webhooks/gemini)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void closeWebhooks(server).then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
