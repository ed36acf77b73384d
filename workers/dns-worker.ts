/** Worker process entry: map the zone images, open this worker's own reuseport sockets, wire them to the query pipeline, obey the supervisor. */

import { hostname } from 'node:os';
import type { Config } from '../src/config.js';
import type { AnswerContext } from '../src/dns/answer.js';
import { ReplyCache } from '../src/dns/answer-cache.js';
import { QueryPipeline } from '../src/dns/pipeline.js';
import { compileAcl } from '../src/forward/acl.js';
import type { CacheLimits } from '../src/forward/cache.js';
import { Forwarder } from '../src/forward/forwarder.js';
import { Counters } from '../src/dns/counters.js';
import { ShardnsError } from '../src/errors.js';
import { isToWorker, type FromWorker, type MapOutcome, type WorkerCounters } from '../src/ipc.js';
import { createLogger } from '../src/log.js';
import { formatEndpoint, openReusePortSocket, closeFd, type OpenSocket } from '../src/net/reuseport.js';
import { serveTcp, tcpConnections, type TcpEndpoint, type TcpLimits } from '../src/net/tcp.js';
import { MMSG_DEFAULTS, serveUdpMmsg } from '../src/net/mmsg.js';
import { serveUdp, type UdpEndpoint } from '../src/net/udp.js';
import { VERSION } from '../src/version.js';
import { MappedZones, type ServedImage } from '../src/mapped-zones.js';

/** Negative answers from upstreams are kept at most 3 hours (RFC 2308 §5). */
const NEGATIVE_TTL_CAP = 10_800;
/** SERVFAIL is kept a few seconds only (RFC 2308 §7.1 allows up to 5 minutes). */
const SERVFAIL_TTL = 5;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

/** The zone images this worker maps; `map` messages swap them, before or after the sockets are open. */
const mapped = new MappedZones();
/** What answer() reads on every query; set once the worker starts, its `zones` swapped on `map`. */
let ctx: AnswerContext | null = null;

/**
 * Runs a worker once the supervisor has said who it is and which zone
 * images to serve: maps them (the builder compiled them; nothing is parsed
 * here), opens the sockets, and wires them to the query pipeline.
 */
async function run(id: number, config: Config, images: ServedImage[]): Promise<void> {
  process.title = `shardns worker ${id}`;
  const log = createLogger(`worker-${id}`, config.logLevel, config.logFormat);
  const counters = new Counters();
  const first = mapped.swap(images);
  if (first.kind === 'error') {
    fail(id, first.error);
    return;
  }
  const server = `worker-${id} pid ${process.pid} host ${hostname()}`;
  const forwarding = config.upstreams.length > 0;
  const acl = compileAcl(config.allowRecursion);
  const context: AnswerContext = {
    identity: { server, version: `shardns ${VERSION}` },
    zones: first.zones,
    recursion: forwarding && typeof acl !== 'string' ? acl : null,
    ednsUdpSize: config.ednsUdpSize,
    nsid: Buffer.from(server),
  };
  ctx = context;
  const forwardLimits: CacheLimits = {
    maxEntries: config.cacheSize,
    maxBytes: config.cacheMaxBytes,
    minTtl: config.cacheMinTtl,
    maxTtl: config.cacheMaxTtl,
    maxNegativeTtl: NEGATIVE_TTL_CAP,
    servfailTtl: SERVFAIL_TTL,
  };
  const forwarder = forwarding
    ? new Forwarder({
        upstreams: config.upstreams,
        attemptTimeoutMs: config.forwardTimeout * 1000,
        deadlineMs: config.forwardDeadline * 1000,
        maxInFlight: config.forwardMax,
        cache: forwardLimits,
        onEvent: (m) => log.warn(m),
      })
    : null;
  // Encoded replies by question; emptied when a new zone version is mapped. A question is kept on
  // its second miss, so a random-subdomain flood neither pays for storing nor evicts real askers.
  const replies = config.answerCache > 0 ? new ReplyCache({ entries: config.answerCache, bytes: config.answerCache * 2048, admitOnSecondMiss: true }) : null;
  const pipeline = new QueryPipeline({ ctx: context, counters, replies, forwarder, forwardLimits, onInternalError: (m) => log.error(m) });

  const opened: OpenSocket[] = [];
  for (const address of config.listen) {
    for (const transport of ['udp', 'tcp'] as const) {
      const result = openReusePortSocket({ address, port: config.port, transport });
      if (!result.ok) {
        for (const s of opened) closeFd(s.fd);
        fail(id, result.error);
        return;
      }
      opened.push(result.socket);
    }
  }

  const udp: UdpEndpoint[] = [];
  const tcp: TcpEndpoint[] = [];
  const tcpLimits: TcpLimits = {
    idleTimeoutMs: config.tcpIdleTimeout * 1000,
    messageTimeoutMs: config.tcpMessageTimeout * 1000,
    maxConnections: config.tcpMaxConnections,
    maxPerClient: config.tcpMaxConnectionsPerClient,
  };
  // One table for all TCP listeners: the limits are the worker's, whichever address a client uses.
  const tcpTable = tcpConnections(tcpLimits);
  try {
    for (const sock of opened) {
      if (sock.spec.transport === 'udp') {
        const onError = (err: Error): void => log.debug(`UDP: ${err.message}`);
        udp.push(config.io === 'mmsg' ? await serveUdpMmsg(sock, pipeline.handler('udp', pipeline.inPlace !== null), onError, MMSG_DEFAULTS, pipeline.inPlace) : await serveUdp(sock, pipeline.handler('udp'), onError));
      } else {
        tcp.push(
          await serveTcp(sock, pipeline.handler('tcp'), tcpLimits, tcpTable),
        );
      }
    }
  } catch (err) {
    fail(id, err instanceof ShardnsError ? err : new ShardnsError('E_SOCKET', `cannot serve: ${(err as Error).message}`));
    return;
  }

  let stopping = false;
  serving.stats = () => ({
    ...counters.snapshot(),
    replyCache: { hits: replies?.hits ?? 0, misses: replies?.misses ?? 0, entries: replies?.size ?? 0, notAdmitted: replies?.notAdmitted ?? 0 },
    ...(forwarder ? { forwarding: { ...forwarder.stats } } : {}),
    tcpConnections: tcpTable.snapshot(),
  });
  serving.stop = () => {
    if (stopping) return;
    stopping = true;
    const graceMs = config.shutdownTimeout * 1000 * 0.8;
    log.debug('stopping: no new queries, finishing what is held');
    void Promise.all([...udp, ...tcp].map((e) => e.close(graceMs))).then(() => {
      log.debug('stopped', { queries: counters.snapshot().queries });
      process.exit(0);
    });
  };

  const endpoints = config.listen.map((a) => formatEndpoint(a, config.port));
  log.debug(`ready on ${endpoints.join(', ')} (udp, tcp)`);
  send({ type: 'ready', id, pid: process.pid, endpoints });
}

function fail(id: number, error: ShardnsError): void {
  send({ type: 'fatal', id, error: error.toJSON() });
  // Let the IPC message leave before exiting.
  setTimeout(() => process.exit(1), 50);
}

/** What a serving worker offers the message loop; empty until sockets are open. */
const serving: { id: number; stats?: () => WorkerCounters; stop?: () => void } = { id: -1 };

/** Maps a new zone version and swaps it in whole (one reference); on failure the old one keeps serving. */
function remap(images: ServedImage[]): MapOutcome {
  const t0 = performance.now();
  const r = mapped.swap(images);
  if (r.kind === 'error') return { ok: false, error: r.error.toJSON() };
  if (ctx !== null) ctx.zones = r.zones;
  return { ok: true, ms: Math.round(performance.now() - t0) };
}

// One message loop from the first moment: heartbeats are answered while
// starting too, so a worker stuck in start-up is caught by the same timeout.
process.on('message', (m) => {
  if (!isToWorker(m)) return;
  switch (m.type) {
    case 'ping':
      send({ type: 'pong', seq: m.seq });
      break;
    case 'start':
      serving.id = m.id;
      void run(m.id, m.config, m.images);
      break;
    case 'stats':
      if (serving.stats) send({ type: 'stats', seq: m.seq, id: serving.id, pid: process.pid, counters: serving.stats() });
      break;
    case 'map':
      send({ type: 'mapped', seq: m.seq, id: serving.id, outcome: remap(m.images) });
      break;
    case 'stop':
      if (serving.stop) serving.stop();
      else process.exit(0);
      break;
  }
});

// The supervisor is gone (killed, crashed): exit rather than linger as an orphan
// whose socket the kernel would keep hashing queries to.
process.on('disconnect', () => {
  process.stderr.write(`shardns worker pid ${process.pid}: supervisor went away (IPC channel closed); exiting\n`);
  process.exit(0);
});

if (!process.send) {
  process.stderr.write('workers/dns-worker.js is started by "shardns serve", not by hand\n');
  process.exit(2);
}
