/** Loader hooks of bench/module-count.ts: posts the URL of every module loaded (ES modules, builtins, and CommonJS entered through import) to the main thread. */

import type { MessagePort } from 'node:worker_threads';

let port: MessagePort | null = null;

/** Receives the port the main thread listens on. */
export function initialize(data: { port: MessagePort }): void {
  port = data.port;
}

/** Passes every load through unchanged, after posting its URL. */
export async function load(url: string, context: unknown, next: (url: string, context: unknown) => Promise<unknown>): Promise<unknown> {
  port?.postMessage(url);
  return next(url, context);
}
