/** dnstap messages: one query and its reply as `dnstap.Dnstap` protobufs (protobufjs), ready for Frame Streams data frames. */

import protobuf from 'protobufjs';
import { ipv4Bytes, parseIPv4, parseIPv6 } from '../zone/rdata/address.js';
import { DNSTAP_PROTO } from './dnstap-schema.js';

export { DNSTAP_CONTENT_TYPE } from './dnstap-schema.js';

/** `Message.Type` values shardns writes (dnstap.proto). */
export const MESSAGE_TYPE = { AUTH_QUERY: 1, AUTH_RESPONSE: 2, CLIENT_QUERY: 5, CLIENT_RESPONSE: 6 } as const;
/** `SocketFamily`. */
const FAMILY = { INET: 1, INET6: 2 } as const;
/** `SocketProtocol`. */
const PROTOCOL = { udp: 1, tcp: 2 } as const;
/** `Dnstap.Type.MESSAGE`. */
const DNSTAP_MESSAGE = 1;

const schema = protobuf.parse(DNSTAP_PROTO, { keepCase: true }).root;
const Dnstap = schema.lookupType('dnstap.Dnstap');

/** One message a worker handled: what came in, what went out (null: nothing was sent), over what, between whom, when. */
export interface Exchange {
  query: Uint8Array;
  reply: Uint8Array | null;
  transport: 'udp' | 'tcp';
  /** The client's address as text (`192.0.2.1`, `2001:db8::1`). */
  client: string;
  /** The client's port. */
  clientPort: number;
  /** The address and port of the socket that received the query. */
  server: { address: string; port: number };
  /** When the query arrived and the reply left (ms since the epoch, fractions allowed). */
  queryTime: number;
  replyTime: number;
  /** The answer is a stream of messages (a zone transfer): `reply` is null, and only the query is logged. */
  transfer?: boolean;
}

/** Who writes the messages: `Dnstap.identity` and `Dnstap.version`. */
export interface DnstapIdentity {
  identity: string;
  version: string;
}

/**
 * Makes the dnstap payloads of exchanges: a query message and, when a
 * reply was sent, a response message. The type is AUTH_* (an
 * authoritative server's view, as NSD and Knot write) unless the reply is
 * a resolver's (RA set, AA clear: a forwarded or refused-recursion answer),
 * then CLIENT_* (as Unbound writes). Each payload holds what dnstap.proto
 * recommends for its type: family, protocol, both addresses, the server's
 * port, the query's time, and the message verbatim.
 */
export class DnstapEncoder {
  private readonly identity: Uint8Array;
  private readonly version: Uint8Array;
  /** Client addresses as octets, remembered: the text is parsed once per client, not per query. */
  private readonly addresses = new Map<string, Uint8Array | null>();

  constructor(who: DnstapIdentity) {
    this.identity = Buffer.from(who.identity);
    this.version = Buffer.from(who.version);
  }

  /** The payloads for one exchange: [query] or [query, response]; [] when an address cannot be read (nothing to tell). */
  encode(e: Exchange): Uint8Array[] {
    const client = this.octets(e.client);
    const server = this.octets(e.server.address);
    if (client === null || server === null) return [];
    const reply = e.reply;
    const resolver = reply !== null && reply.length >= 4 && (reply[3]! & 0x80) !== 0 && (reply[2]! & 0x04) === 0;
    const family = client.length === 4 ? FAMILY.INET : FAMILY.INET6;
    const protocol = PROTOCOL[e.transport];
    // A server bound to the other family's wildcard cannot happen; a mismatch is left out rather than written wrong.
    const responseAddress = server.length === client.length ? server : null;
    const querySec = Math.floor(e.queryTime / 1000);
    const queryNsec = Math.floor((e.queryTime - querySec * 1000) * 1e6);
    const out = [
      this.payload({
        type: resolver ? MESSAGE_TYPE.CLIENT_QUERY : MESSAGE_TYPE.AUTH_QUERY,
        socket_family: family,
        socket_protocol: protocol,
        query_address: client,
        query_port: e.clientPort,
        response_address: responseAddress,
        response_port: e.server.port,
        query_time_sec: querySec,
        query_time_nsec: queryNsec,
        query_message: e.query,
      }),
    ];
    if (reply !== null) {
      const replySec = Math.floor(e.replyTime / 1000);
      out.push(
        this.payload({
          type: resolver ? MESSAGE_TYPE.CLIENT_RESPONSE : MESSAGE_TYPE.AUTH_RESPONSE,
          socket_family: family,
          socket_protocol: protocol,
          query_address: client,
          query_port: e.clientPort,
          response_address: responseAddress,
          response_port: e.server.port,
          query_time_sec: querySec,
          query_time_nsec: queryNsec,
          response_time_sec: replySec,
          response_time_nsec: Math.floor((e.replyTime - replySec * 1000) * 1e6),
          response_message: reply,
        }),
      );
    }
    return out;
  }

  private payload(message: object): Uint8Array {
    return Dnstap.encode({ identity: this.identity, version: this.version, type: DNSTAP_MESSAGE, message }).finish();
  }

  /** An address's octets (4 or 16; an IPv6 zone is dropped), remembered; null when it is not an address. */
  private octets(text: string): Uint8Array | null {
    let bytes = this.addresses.get(text);
    if (bytes !== undefined) return bytes;
    bytes = addressOctets(text);
    if (this.addresses.size >= 4096) this.addresses.clear();
    this.addresses.set(text, bytes);
    return bytes;
  }
}

/** `192.0.2.1` → 4 octets, `2001:db8::1%eth0` → 16; null for anything else. */
export function addressOctets(text: string): Uint8Array | null {
  const host = text.split('%', 1)[0]!;
  if (parseIPv4(host) !== null) {
    const out = new Uint8Array(4);
    ipv4Bytes(host, out, 0);
    return out;
  }
  return host.includes(':') ? parseIPv6(host) : null;
}

/** A dnstap payload read back (tests, and anyone reading what shardns wrote). */
export interface DnstapRecord {
  identity: string;
  version: string;
  type: number;
  socketFamily: number;
  socketProtocol: number;
  queryAddress: Uint8Array | null;
  responseAddress: Uint8Array | null;
  responsePort: number | null;
  queryPort: number | null;
  queryTime: number;
  responseTime: number | null;
  queryMessage: Uint8Array | null;
  responseMessage: Uint8Array | null;
}

/** Decodes one data frame's payload (throws on bytes that are not a Dnstap message). */
export function decodeDnstap(payload: Uint8Array): DnstapRecord {
  const d = Dnstap.toObject(Dnstap.decode(payload), { longs: Number, bytes: Buffer }) as Record<string, unknown>;
  const m = (d['message'] ?? {}) as Record<string, unknown>;
  const time = (sec: unknown, nsec: unknown): number | null => (typeof sec === 'number' ? sec * 1000 + (typeof nsec === 'number' ? nsec / 1e6 : 0) : null);
  return {
    identity: String(d['identity'] ?? ''),
    version: String(d['version'] ?? ''),
    type: Number(m['type'] ?? 0),
    socketFamily: Number(m['socket_family'] ?? 0),
    socketProtocol: Number(m['socket_protocol'] ?? 0),
    queryAddress: (m['query_address'] as Uint8Array | undefined) ?? null,
    responseAddress: (m['response_address'] as Uint8Array | undefined) ?? null,
    responsePort: typeof m['response_port'] === 'number' ? m['response_port'] : null,
    queryPort: typeof m['query_port'] === 'number' ? m['query_port'] : null,
    queryTime: time(m['query_time_sec'], m['query_time_nsec']) ?? 0,
    responseTime: time(m['response_time_sec'], m['response_time_nsec']),
    queryMessage: (m['query_message'] as Uint8Array | undefined) ?? null,
    responseMessage: (m['response_message'] as Uint8Array | undefined) ?? null,
  };
}
