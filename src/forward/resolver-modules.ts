/** What a worker needs only when it forwards (the forwarder with its cache and transports, DNS over TLS, the hosts files), in one module the worker imports when forwarding is configured, so an authoritative-only worker never loads them. */

export { Forwarder } from './forwarder.js';
export { watchHosts } from './hosts-files.js';
export { loadTrustAnchors } from './tls.js';
