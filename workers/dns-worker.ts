/** Worker process entry: map the zone images, take over this worker slot's reuseport sockets (bound and held by the supervisor), wire them to the query pipeline, obey the supervisor. */

import { hostname } from 'node:os';
import type { Config } from '../src/config.js';
import type { AnswerContext } from '../src/dns/answer.js';
import { abuseGuards } from '../src/abuse/guards.js';
import { ReplyCache } from '../src/dns/answer-cache.js';
import { QueryPipeline, type Resolver } from '../src/dns/pipeline.js';
import { compileAcl } from '../src/forward/acl.js';
import { DeferredResolver } from '../src/forward/deferred-resolver.js';
import type { CacheLimits } from '../src/forward/answer-ttl.js';
import type { Forwarder } from '../src/forward/forwarder.js';
import { unpackForwardZones, type PackedForwardZones } from '../src/forward/forward-routes.js';
import type { DotOptions } from '../src/forward/tls.js';
import { Counters } from '../src/dns/counters.js';
import { ShardnsError } from '../src/errors.js';
import { isToWorker, type FromWorker, type MapOutcome, type WorkerCounters, type ZoneStanding } from '../src/ipc.js';
import { createLogger, type Logger } from '../src/log.js';
import { transferContext, type TransferContextOptions } from '../src/xfr/policy.js';
import { describeWarmUp, WARM_UP_DELAY_MS, warmTransferPath, warmUpZone } from '../src/xfr/warm-up.js';
import { formatEndpoint, type OpenSocket } from '../src/net/reuseport.js';
import { libc } from '../src/sys/libc.js';
import { serveTcp, tcpConnections, type TcpEndpoint, type TcpLimits } from '../src/net/tcp.js';
import { BatchClock } from '../src/net/batch-clock.js';
import { MMSG_DEFAULTS, serveUdpMmsg, type MmsgStats } from '../src/net/mmsg.js';
import { serveUdp, type UdpEndpoint } from '../src/net/udp.js';
import { serveUdpThread, type UdpThreadEndpoint, type UdpThreadStats } from '../src/net/udp-thread.js';
import { VERSION } from '../src/version.js';
import { MappedZones, type ServedImage } from '../src/mapped-zones.js';
import { openWorkerOps, type BatchSender } from '../src/ops/worker-ops.js';

/** The system's hosts file, answered from by default when forwarding is on (as dnsmasq does). */
const ETC_HOSTS = '/etc/hosts';
/**
 * A DNS-over-TLS connection with nothing pending is closed after this long:
 * kept across pauses in traffic (each new one costs a handshake), as Unbound
 * keeps an idle client's connection about as long (tcp-idle-timeout 30 s).
 */
const DOT_IDLE_MS = 25_000;
/** After a failed TLS connection, an upstream's questions fail at once for this long rather than each trying a handshake. */
const DOT_RETRY_MS = 1000;
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
/** Empties the UDP threads' copies of the reply cache (`--io thread`); null without threads. */
let resetThreadCaches: (() => void) | null = null;
/** The image files of the zone version served (for /ready), updated with each swap that succeeds. */
let servedPaths: string[] = [];

/** Sends a batch of dnstap or query log records to the supervisor; `done` once the channel took it. */
const sendLogBatch: BatchSender = (batch, done) => {
  try {
    if (!process.send?.({ type: 'log', batch } satisfies FromWorker, undefined, undefined, () => done())) done();
  } catch {
    done();
  }
};

/**
 * Runs a worker once the supervisor has said who it is and which zone
 * images to serve: maps them (the builder compiled them; nothing is parsed
 * here), opens the sockets, and wires them to the query pipeline.
 */
async function run(id: number, config: Config, packedForwardZones: PackedForwardZones, images: ServedImage[], sockets: OpenSocket[], standing: ZoneStanding): Promise<void> {
  process.title = `shardns worker ${id}`;
  const log = createLogger(`worker-${id}`, config.logLevel, config.logFormat);
  // How long Node took to start this process and load its modules (on a start's path to the first answer).
  log.debug(`start message received ${Math.round(performance.now())} ms after the worker process started`);
  const adopted = adoptSockets(sockets);
  if (adopted !== null) {
    fail(id, adopted);
    return;
  }
  const counters = new Counters();
  const first = mapped.swap(images, standing.dark);
  if (first.kind === 'error') {
    fail(id, first.error);
    return;
  }
  servedPaths = images.map((i) => i.path);
  // Split DNS: the forward zones came packed (config.forwardZones is empty here: src/ipc.ts startMessage).
  const unpacked = unpackForwardZones(packedForwardZones, (m) => log.error(m));
  if (unpacked.kind === 'error') {
    fail(id, new ShardnsError('E_CONFIG', unpacked.message));
    return;
  }
  const routes = unpacked.routes;
  const server = `worker-${id} pid ${process.pid} host ${hostname()}`;
  // Forwarding is on with default upstreams, or with forward zones or hosts files alone (other names are then REFUSED by the forwarder).
  const resolving = config.upstreams.length > 0 || routes.size > 0;
  const hostsFiles = [...new Set([...(resolving && config.etcHosts === 'on' ? [ETC_HOSTS] : []), ...config.hosts])];
  const forwarding = resolving || hostsFiles.length > 0;
  const acl = compileAcl(config.allowRecursion);
  const context: AnswerContext = {
    identity: { server, version: `shardns ${VERSION}` },
    zones: first.zones,
    recursion: forwarding && typeof acl !== 'string' ? acl : null,
    ednsUdpSize: config.ednsUdpSize,
    nsid: Buffer.from(server),
    // Zone transfers, NOTIFY and TSIG (src/xfr/): keys, per-zone allow lists, IXFR journals.
    transfer: transferContext(config, transferOptions(log), standing.members),
  };
  workerConfig = { config, log };
  ctx = context;
  const forwardLimits: CacheLimits = {
    maxEntries: config.cacheSize,
    maxBytes: config.cacheMaxBytes,
    minTtl: config.cacheMinTtl,
    maxTtl: config.cacheMaxTtl,
    maxNegativeTtl: NEGATIVE_TTL_CAP,
    servfailTtl: SERVFAIL_TTL,
    staleMax: config.staleMax,
  };
  // Encoded replies by question; emptied when a new zone version is mapped. A question is kept on
  // its second miss, so a random-subdomain flood neither pays for storing nor evicts real askers.
  // The mmsg engine holds this clock for each batch it reads: the cache and the pipeline read the time once per batch.
  const clock = new BatchClock();
  const replies = config.answerCache > 0 ? new ReplyCache({ entries: config.answerCache, bytes: config.answerCache * 2048, admitOnSecondMiss: true, cookies: config.cookies === 'on' }, clock.now) : null;
  // The forwarder, its cache, DNS over TLS and the hosts files load only when forwarding is on
  // (an authoritative-only worker starts without ~15 modules), never on a query's path.
  let forwarder: Forwarder | null = null;
  const dotWanted = routes.anyTls || config.upstreams.some((u) => u.tlsName !== undefined);
  const startForwarding = async (): Promise<Forwarder | ShardnsError> => {
    const resolver = await import('../src/forward/resolver-modules.js');
    // DNS over TLS: the CAs are read once, at start (the file must be readable by the user shardns runs as).
    let dot: DotOptions | undefined;
    if (dotWanted) {
      const trust = resolver.loadTrustAnchors(config.tlsCa);
      if (typeof trust === 'string') return new ShardnsError('E_CONFIG', trust);
      if (id === 0) log.info(`DNS over TLS: upstream certificates are checked against ${trust.source}`);
      dot = { trust, idleMs: DOT_IDLE_MS, retryMs: DOT_RETRY_MS };
    }
    const made = new resolver.Forwarder({
      upstreams: config.upstreams,
      routes,
      staleAnswerTimeoutMs: config.staleAnswerTimeout * 1000,
      staleRefreshMs: config.staleRefreshTime * 1000,
      prefetch: config.prefetch === 'on',
      ...(dot ? { dot } : {}),
      attemptTimeoutMs: config.forwardTimeout * 1000,
      deadlineMs: config.forwardDeadline * 1000,
      maxInFlight: config.forwardMax,
      cache: forwardLimits,
      onEvent: (m) => log.warn(m),
    });
    if (id === 0 && routes.size > 0) log.info(`split DNS: ${routes.describe(5)}`);
    if (hostsFiles.length > 0) {
      // Every worker reads and watches the files; worker 0 alone tells about them.
      resolver.watchHosts(hostsFiles, new Set(config.hosts.includes(ETC_HOSTS) ? [] : [ETC_HOSTS]), (e) => {
        if (e.kind === 'problem') {
          if (id === 0) log.warn(e.message);
          return;
        }
        made.setHosts(e.table);
        // A name the files now hold may have a forwarded reply kept: those go (the forward cache stays).
        if (e.reason === 'changed') replies?.clear();
        const what = `hosts files ${e.reason === 'start' ? 'read' : 'changed, read again'}: ${e.table.names} names, ${e.table.addresses} addresses with a PTR (${hostsFiles.join(', ')})`;
        if (id === 0) log.info(what);
        else log.debug(what);
      });
    }
    forwarder = made;
    return made;
  };
  // With DNS over TLS the forwarder is made before the sockets are served: a CA file it cannot use
  // stops the start. Otherwise the zones are answered first and the forwarding modules load right
  // after (a restart's first answer does not wait for them); questions to forward asked meanwhile
  // wait for them (src/forward/deferred-resolver.ts).
  let upstream: Resolver | null = null;
  let loadForwarding: (() => void) | null = null;
  if (forwarding && dotWanted) {
    const made = await startForwarding();
    if (made instanceof ShardnsError) {
      fail(id, made);
      return;
    }
    upstream = made;
  } else if (forwarding) {
    const load = new Promise<Resolver>((resolve, reject) => {
      loadForwarding = () =>
        void startForwarding().then(
          (made) => (made instanceof ShardnsError ? reject(made) : resolve(made)),
          (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
        );
    });
    load.catch((err: Error) => log.error(`forwarding could not start: ${err.message}; names outside the zones are answered SERVFAIL`));
    upstream = new DeferredResolver(load);
  }
  // Response rate limiting and DNS cookies (src/abuse/).
  const { rrl, cookies } = abuseGuards(config);
  // Metrics, dnstap and the query log (src/ops/worker-ops.ts): the handlers are wrapped only when a log is on.
  const ops = await openWorkerOps({ id, config, identity: { identity: hostname(), version: `shardns ${VERSION}` }, send: sendLogBatch });
  const pipeline = new QueryPipeline({ ctx: context, counters, replies, forwarder: ops.resolver(upstream), forwardLimits, onInternalError: (m) => log.error(m), rrl, cookies, now: clock.now });

  // The slot's sockets, bound by the supervisor (src/ops/listeners.ts), which holds them for the server's life.
  const opened = sockets;

  const udp: UdpEndpoint[] = [];
  const udpThreads: UdpThreadEndpoint[] = [];
  const mmsgEngines: MmsgStats[] = [];
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
        if (config.io === 'thread' && replies !== null) {
          // Reply-cache hits are answered by a thread of their own; the rest comes here (src/net/udp-thread.ts).
          const t = await serveUdpThread(sock, ops.handler(pipeline.handler('udp'), sock), () => context.zones, onError, (err) => fail(id, new ShardnsError('E_SOCKET', err.message)), {
            batch: MMSG_DEFAULTS.batch,
            recvSize: MMSG_DEFAULTS.recvSize,
            sendSize: MMSG_DEFAULTS.sendSize,
            wakeMs: 100,
            coalesceUs: config.udpCoalesceUs,
            cacheEntries: config.answerCache,
            cacheBytes: config.answerCache * 2048,
            config,
            recursion: context.recursion !== null,
          });
          udpThreads.push(t);
          udp.push(t);
          continue;
        }
        if (config.io !== 'dgram') {
          const engine = await serveUdpMmsg(sock, ops.handler(pipeline.handler('udp', pipeline.inPlace !== null), sock), onError, { ...MMSG_DEFAULTS, clock }, ops.inPlace(pipeline.inPlace, sock));
          mmsgEngines.push(engine.stats);
          udp.push(engine);
        } else {
          udp.push(await serveUdp(sock, ops.handler(pipeline.handler('udp'), sock), onError));
        }
      } else {
        tcp.push(
          await serveTcp(sock, ops.handler(pipeline.handler('tcp'), sock), tcpLimits, tcpTable),
        );
      }
    }
  } catch (err) {
    fail(id, err instanceof ShardnsError ? err : new ShardnsError('E_SOCKET', `cannot serve: ${(err as Error).message}`));
    return;
  }
  if (udpThreads.length > 0 && replies !== null) {
    // Every thread's copy of the reply cache follows the worker's, and empties with a new zone version (remap).
    replies.mirror = {
      stored: (shape, reply, zones, ttl, storedAt) => udpThreads.forEach((t) => t.mirror.stored(shape, reply, zones, ttl, storedAt)),
      reset: () => udpThreads.forEach((t) => t.reset()),
    };
    resetThreadCaches = () => udpThreads.forEach((t) => t.reset());
  }

  let stopping = false;
  serving.stats = (threadStats = udpThreads.map((t) => t.stats())) => ({
    ...counters.snapshot(...udpThreads.map((t) => t.counters)),
    // A thread's hit is a reply-cache hit; what it misses is looked up again here (and counted here).
    replyCache: { hits: (replies?.hits ?? 0) + threadStats.reduce((n, t) => n + t.cacheHits, 0), misses: replies?.misses ?? 0, entries: replies?.size ?? 0, notAdmitted: replies?.notAdmitted ?? 0 },
    ...(udpThreads.length > 0 ? { udpThread: sumThreadStats(threadStats) } : {}),
    ...(mmsgEngines.length > 0 ? { udpMmsg: { received: mmsgEngines.reduce((n, e) => n + e.received, 0), recvCalls: mmsgEngines.reduce((n, e) => n + e.recvCalls, 0) } } : {}),
    ...(forwarder ? { forwarding: { ...(forwarder as Forwarder).stats } } : {}),
    tcpConnections: tcpTable.snapshot(),
    ops: ops.report(servedPaths, opened),
  });
  serving.stop = () => {
    if (stopping) return;
    stopping = true;
    stopWarmUp?.('the worker stops');
    const graceMs = config.shutdownTimeout * 1000 * 0.8;
    log.debug('stopping: no new queries, finishing what is held');
    void Promise.all([...udp, ...tcp].map((e) => e.close(graceMs))).then(() => {
      log.debug('stopped', { queries: counters.snapshot().queries });
      // The last dnstap and query log records leave before the exit.
      ops.drain(() => process.exit(0));
    });
  };

  const endpoints = config.listen.map((a) => formatEndpoint(a, config.port));
  log.debug(`ready on ${endpoints.join(', ')} (udp, tcp)`);
  send({ type: 'ready', id, pid: process.pid, endpoints });
  (loadForwarding as (() => void) | null)?.();
  // The zone transfer path compiled in idle turns, a moment after the worker serves (its siblings may still be starting on
  // the same CPUs), not during its first AXFR (src/xfr/warm-up.ts). A transfer that begins first stops it.
  const warm = (): void => {
    const warmZone = warmUpZone(context.zones.images(), context.transfer?.zones ?? new Map());
    if (warmZone === null) {
      stopWarmUp = null;
      log.debug(describeWarmUp({ kind: 'skipped', why: 'no zone allows transfers' }));
      return;
    }
    stopWarmUp = warmTransferPath(warmZone, {
      schedule: (fn) => void setImmediate(fn),
      cpuMs: () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      },
      done: (outcome) => {
        stopWarmUp = null;
        if (outcome.kind === 'error') log.warn(describeWarmUp(outcome));
        else log.debug(describeWarmUp(outcome));
      },
    });
  };
  const timer = setTimeout(warm, WARM_UP_DELAY_MS);
  timer.unref();
  stopWarmUp = (why) => {
    clearTimeout(timer);
    stopWarmUp = null;
    log.debug(describeWarmUp({ kind: 'cancelled', messages: 0, why }));
  };
}

/**
 * Takes over the slot's sockets as fork passed them: refuses to serve as
 * root (the supervisor drops privileges before it forks; nothing answers
 * queries as root), and marks each descriptor close-on-exec. Returns why
 * the worker cannot serve, or null.
 */
function adoptSockets(sockets: readonly OpenSocket[]): ShardnsError | null {
  if (process.geteuid?.() === 0) {
    return new ShardnsError('E_USER', 'a worker would answer queries as root', 'this is a bug: the supervisor drops privileges before it forks workers; please report it');
  }
  for (const s of sockets) {
    const r = libc.setCloseOnExec(s.fd, true);
    if (r.kind === 'errno') return new ShardnsError('E_SOCKET', `socket ${formatEndpoint(s.spec.address, s.spec.port)}/${s.spec.transport} was not passed to this worker (descriptor ${s.fd}: errno ${r.errno})`, 'workers are started by "shardns serve"; please report this');
  }
  return null;
}

/** The UDP threads' counters summed (one thread per UDP socket). */
function sumThreadStats(all: UdpThreadStats[]): NonNullable<WorkerCounters['udpThread']> {
  const sum = { received: 0, recvCalls: 0, cacheHits: 0, passed: 0, sent: 0, sendFailures: 0, coalesceWaits: 0 };
  for (const t of all) for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += t[k];
  return sum;
}

function fail(id: number, error: ShardnsError): void {
  send({ type: 'fatal', id, error: error.toJSON() });
  // Let the IPC message leave before exiting.
  setTimeout(() => process.exit(1), 50);
}

/** Stops the transfer warm-up while it runs (src/xfr/warm-up.ts): the worker stops, or a real transfer began (it warms the path itself). */
let stopWarmUp: ((why: string) => void) | null = null;

/** What a serving worker offers the message loop; empty until sockets are open. */
const serving: { id: number; stats?: () => WorkerCounters; stop?: () => void } = { id: -1 };

/** No dark zones, no catalog members. */
const NO_STANDING: ZoneStanding = { dark: [], members: [] };

/** The worker's config and logger once running (a catalog's members change the transfer context). */
let workerConfig: { config: Config; log: Logger } | null = null;
/** The catalog members the transfer context was last built with. */
let members: string = '[]';

/** How the transfer branch logs, and where an admitted NOTIFY for a secondary zone goes (the supervisor refreshes it). */
function transferOptions(log: Logger): TransferContextOptions {
  return {
    log: (level, m) => log[level](m),
    notified: (origin, client, serial) => send({ type: 'notify', origin, serial, from: client.address }),
    streamStarted: () => stopWarmUp?.('a transfer began: it warms the path itself'),
  };
}

/** Maps a new zone version and swaps it in whole (one reference); on failure the old one keeps serving. */
function remap(images: ServedImage[], standing: ZoneStanding): MapOutcome {
  const t0 = performance.now();
  const r = mapped.swap(images, standing.dark);
  if (r.kind === 'error') return { ok: false, error: r.error.toJSON() };
  if (ctx !== null) ctx.zones = r.zones;
  resetThreadCaches?.();
  const now = JSON.stringify(standing.members);
  if (ctx !== null && workerConfig !== null && now !== members) {
    members = now;
    ctx.transfer = transferContext(workerConfig.config, transferOptions(workerConfig.log), standing.members);
  }
  servedPaths = images.map((i) => i.path);
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
      members = JSON.stringify(m.zones?.members ?? []);
      void run(m.id, m.config, m.forwardZones, m.images, m.sockets, m.zones ?? NO_STANDING);
      break;
    case 'stats':
      if (serving.stats) send({ type: 'stats', seq: m.seq, id: serving.id, pid: process.pid, counters: serving.stats() });
      break;
    case 'map':
      send({ type: 'mapped', seq: m.seq, id: serving.id, outcome: remap(m.images, m.zones ?? NO_STANDING) });
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
