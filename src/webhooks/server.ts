/**
 * The provider webhook receiver on an HTTP server of its own: `anybatch webhooks` and the worker
 * (`ANYBATCH_WEBHOOKS_ADDRESS`) serve it this way; `anybatch serve` mounts the receiver in the gateway instead.
 */
import http from 'node:http';
import { WEBHOOK_ROUTES, type WebhookReceiver } from './receiver';

/** Listens on `host:port` (port 0: any free port) and serves the receiver's routes; any other path is a 404. */
export async function listenWebhooks(receiver: WebhookReceiver, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://webhooks.invalid');
    receiver
      .handle(req, res, url)
      .then((served) => {
        if (!served) res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no webhook route at ${url.pathname}: ${WEBHOOK_ROUTES.join(', ')}` }));
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** Stops accepting, ends open connections, and resolves once the server is closed. */
export function closeWebhooks(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
