/** The HTTP gateway: OpenAI's Files and Batches API served by anybatch batches (./server.ts). */
export { createGateway } from './server';
export type { Gateway, GatewayOptions } from './server';
export { readKeysFile } from './callers';
export type { GatewayKey } from './callers';
export { OPTION_PREFIX } from './batches';
