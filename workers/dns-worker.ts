/** Worker process entry: open this worker's own reuseport sockets, answer queries, obey the supervisor. */

import { hostname } from 'node:os';
import type { Config } from '../src/config.js';
import { answer, servfail, type AnswerContext, type AnswerOutcome } from '../src/dns/answer.js';
import { ReplyCache, queryShape, type QueryShape } from '../src/dns/answer-cache.js';
import { forwardedReply } from '../src/dns/forwarded.js';
import { compileAcl } from '../src/forward/acl.js';
import { ttlFor, type CacheLimits } from '../src/forward/cache.js';
import { Forwarder } from '../src/forward/forwarder.js';
import { Counters } from '../src/dns/counters.js';
import { ShardnsError, zoneError } from '../src/errors.js';
import { isToWorker, type FromWorker, type ReloadOutcome, type WorkerCounters } from '../src/ipc.js';
import { createLogger } from '../src/log.js';
import { formatEndpoint, openReusePortSocket, closeFd, type OpenSocket, type Transport } from '../src/net/reuseport.js';
import { serveTcp, type TcpEndpoint } from '../src/net/tcp.js';
import { MMSG_DEFAULTS, serveUdpMmsg } from '../src/net/mmsg.js';
import { sockaddrIpv4, sockaddrText } from '../src/net/sockaddr.js';
import { serveUdp, type InPlaceHandler, type UdpEndpoint } from '../src/net/udp.js';
import { VERSION } from '../src/version.js';
import { loadZones, type ZoneFiles } from '../src/zones.js';

/** Negative answers from upstreams are kept at most 3 hours (RFC 2308 §5). */
const NEGATIVE_TTL_CAP = 10_800;
/** SERVFAIL is kept a few seconds only (RFC 2308 §7.1 allows up to 5 minutes). */
const SERVFAIL_TTL = 5;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

/**
 * Runs a worker once the supervisor has said who it is: from the zone files,
 * or from `zoneFiles` (the octets the running workers loaded, when this one
 * replaces a worker that died); `wantFiles` sends the octets back with `ready`.
 */
async function run(id: number, config: Config, zoneFiles: ZoneFiles | undefined, wantFiles: boolean): Promise<void> {
  process.title = `shardns worker ${id}`;
  const log = createLogger(`worker-${id}`, config.logLevel, config.logFormat);
  const counters = new Counters();
  const zones = loadZones(config.zones, { ...(zoneFiles ? { from: zoneFiles } : {}), keepFiles: wantFiles });
  if (!zones.ok) {
    fail(id, zoneError(zones.errors));
    return;
  }
  // Every worker reads the same files, so warnings are worker 0's to tell.
  if (id === 0) for (const w of zones.warnings) log.warn(w);
  const server = `worker-${id} pid ${process.pid} host ${hostname()}`;
  const forwarding = config.upstreams.length > 0;
  const acl = compileAcl(config.allowRecursion);
  const ctx: AnswerContext = {
    identity: { server, version: `shardns ${VERSION}` },
    zones: zones.zones,
    recursion: forwarding && typeof acl !== 'string' ? acl : null,
    ednsUdpSize: config.ednsUdpSize,
    nsid: Buffer.from(server),
  };
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
        cache: forwardLimits,
        onEvent: (m) => log.warn(m),
      })
    : null;
  // Encoded replies by question; emptied when a reload swaps the zones.
  const replies = config.answerCache > 0 ? new ReplyCache({ entries: config.answerCache, bytes: config.answerCache * 2048 }) : null;
  let lastErrorLog = 0;
  const internalError = (err: unknown): void => {
    counters.internalError();
    const now = Date.now();
    if (now - lastErrorLog > 1000) {
      lastErrorLog = now;
      log.error(`internal error answering a query (answered SERVFAIL): ${(err as Error).stack ?? String(err)}`);
    }
  };

  /**
   * No exception escapes a socket callback: a bug in one query answers SERVFAIL.
   * `cacheTried`: the engine already looked the query up in place (mmsg), so a miss is not looked up twice.
   */
  const handler =
    (transport: Transport, cacheTried = false) =>
    (msg: Buffer, address: string): Buffer | null | Promise<Buffer | null> => {
      let out: AnswerOutcome;
      let shape: QueryShape | null = null;
      try {
        const allowed = ctx.recursion !== null && ctx.recursion.allows(address);
        shape = replies ? queryShape(msg, ctx.ednsUdpSize, transport === 'tcp', allowed) : null;
        const hit = shape && !cacheTried && replies!.get(msg, shape, ctx.zones);
        if (hit) {
          counters.record(transport, hit);
          return hit;
        }
        out = answer(msg, ctx, { transport, address });
        if (shape && Buffer.isBuffer(out)) replies!.put(shape, out, ctx.zones);
      } catch (err) {
        internalError(err);
        out = servfail(msg);
      }
      if (out === null || Buffer.isBuffer(out)) {
        counters.record(transport, out);
        return out;
      }
      const request = out;
      // The engine reuses the query's memory for the next batch: keep what a late SERVFAIL needs.
      const original = Buffer.from(msg);
      const question = { name: request.target, type: request.question.type, klass: 'IN', dnssecOk: request.edns?.dnssecOk ?? false, checkingDisabled: (request.flags & 0x10) !== 0 };
      // Whatever the upstream sent, a reply we cannot build is a SERVFAIL, never an
      // unhandled rejection (which would end the worker).
      const failed = (err: unknown): Buffer | null => {
        internalError(err);
        const reply = servfail(original);
        counters.record(transport, reply);
        return reply;
      };
      return forwarder!.resolve(question).then((a) => {
        try {
          const reply = forwardedReply(request, a, ctx);
          counters.record(transport, reply);
          // The encoded reply is kept too, so the next asker skips decode and encode.
          if (shape && config.cacheSize > 0 && (a.rcode === 'NOERROR' || a.rcode === 'NXDOMAIN')) replies!.put(shape, reply, ctx.zones, ttlFor(a, forwardLimits));
          return reply;
        } catch (err) {
          return failed(err);
        }
      }, failed);
    };

  /** The UDP hit path: a cached reply written straight into the engine's send area. */
  const inPlace: InPlaceHandler | null = replies
    ? (q, qOff, qLen, peer, peerOff, out, outOff, cap) => {
        let allowed = false;
        if (ctx.recursion !== null) {
          const v4 = sockaddrIpv4(peer, peerOff);
          allowed = v4 >= 0 ? ctx.recursion.allowsIpv4(v4) : ctx.recursion.allows(sockaddrText(peer, peerOff));
        }
        const written = replies.answerInto(q, qOff, qLen, ctx.ednsUdpSize, allowed, ctx.zones, out, outOff, cap);
        if (written >= 0) counters.recordUdpAt(out, outOff);
        return written;
      }
    : null;

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
  try {
    for (const sock of opened) {
      if (sock.spec.transport === 'udp') {
        const onError = (err: Error): void => log.debug(`UDP: ${err.message}`);
        udp.push(config.io === 'mmsg' ? await serveUdpMmsg(sock, handler('udp', inPlace !== null), onError, MMSG_DEFAULTS, inPlace) : await serveUdp(sock, handler('udp'), onError));
      } else {
        tcp.push(
          await serveTcp(sock, handler('tcp'), {
            idleTimeoutMs: config.tcpIdleTimeout * 1000,
            messageTimeoutMs: config.tcpMessageTimeout * 1000,
            maxConnections: config.tcpMaxConnections,
          }),
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
    replyCache: { hits: replies?.hits ?? 0, misses: replies?.misses ?? 0, entries: replies?.size ?? 0 },
    ...(forwarder ? { forwarding: { ...forwarder.stats } } : {}),
  });
  // Reload = parse everything anew, then swap one reference; on failure the old zones keep serving.
  serving.reload = (wantFiles) => {
    const started = Date.now();
    const next = loadZones(config.zones, { keepFiles: wantFiles });
    if (!next.ok) return { outcome: { ok: false, errors: next.errors, warnings: next.warnings } };
    ctx.zones = next.zones;
    return {
      outcome: { ok: true, zones: next.loaded.length, records: next.loaded.reduce((n, z) => n + z.size, 0), warnings: next.warnings, ms: Date.now() - started },
      ...(next.files ? { files: next.files } : {}),
    };
  };
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
  send({ type: 'ready', id, pid: process.pid, endpoints, ...(zones.files ? { zoneFiles: zones.files } : {}) });
  delete zones.files; // the supervisor has them now
}

function fail(id: number, error: ShardnsError): void {
  send({ type: 'fatal', id, error: error.toJSON() });
  // Let the IPC message leave before exiting.
  setTimeout(() => process.exit(1), 50);
}

/** What a serving worker offers the message loop; empty until sockets are open. */
const serving: { id: number; stats?: () => WorkerCounters; reload?: (wantFiles: boolean) => { outcome: ReloadOutcome; files?: ZoneFiles }; stop?: () => void } = { id: -1 };

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
      void run(m.id, m.config, m.zoneFiles, m.wantFiles === true);
      break;
    case 'stats':
      if (serving.stats) send({ type: 'stats', seq: m.seq, id: serving.id, pid: process.pid, counters: serving.stats() });
      break;
    case 'reload':
      if (serving.reload) {
        const { outcome, files } = serving.reload(m.wantFiles === true);
        send({ type: 'reloaded', seq: m.seq, id: serving.id, outcome, ...(files ? { zoneFiles: files } : {}) });
      }
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
