/** One Temporal client per process and address, opened on first use. */
import { Client, Connection } from '@temporalio/client';
import { temporalSettings } from '../config';

export interface TemporalOptions {
  /** `host:port` of the Temporal frontend (default: TEMPORAL_ADDRESS, then 127.0.0.1:7233). */
  address?: string;
  namespace?: string;
  /** Use this client instead of opening one. */
  client?: Client;
}

const clients = new Map<string, Promise<Client>>();

export function temporalClient(opts: TemporalOptions = {}): Promise<Client> {
  if (opts.client) return Promise.resolve(opts.client);
  const settings = temporalSettings({ address: opts.address, namespace: opts.namespace });
  const id = `${settings.connection.address}/${settings.namespace}`;
  let client = clients.get(id);
  if (!client) {
    client = Connection.connect(settings.connection).then((connection) => new Client({ connection, namespace: settings.namespace }));
    client.catch(() => clients.delete(id));
    clients.set(id, client);
  }
  return client;
}

/** Closes the connections opened by `temporalClient` (lets a script exit promptly). */
export async function closeTemporalClients(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  await Promise.all(all.map(async (c) => (await c.catch(() => null))?.connection.close()));
}
