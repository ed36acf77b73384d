/** The 12-byte DNS header read and written on raw bytes, for replies that need no decoding. */

/** RCODE values this server sends (RFC 1035 §4.1.1, RFC 6672 §2.2). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6 } as const;

/** The fields of a header that decide how a message is handled. */
export interface RawHeader {
  id: number;
  qr: boolean;
  opcode: number;
  rd: boolean;
  cd: boolean;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

/** The length of a DNS header (RFC 1035 §4.1.1). */
export const HEADER_LENGTH = 12;

/** Reads the header, or null when the message is shorter than one. */
export function readHeader(msg: Uint8Array): RawHeader | null {
  if (msg.length < HEADER_LENGTH) return null;
  const flags = (msg[2]! << 8) | msg[3]!;
  return {
    id: (msg[0]! << 8) | msg[1]!,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rd: (flags & 0x0100) !== 0,
    cd: (flags & 0x0010) !== 0,
    qdcount: (msg[4]! << 8) | msg[5]!,
    ancount: (msg[6]! << 8) | msg[7]!,
    nscount: (msg[8]! << 8) | msg[9]!,
    arcount: (msg[10]! << 8) | msg[11]!,
  };
}

/**
 * The offset just past the first question (name, type, class), or -1 when it
 * is not well formed: a compression pointer in it (see below), a label type
 * other than a length, past the end, or a name longer than 255 octets, its
 * final zero octet included (RFC 1035 §2.3.4).
 */
export function questionEnd(msg: Uint8Array): number {
  let off = HEADER_LENGTH;
  let nameLength = 0;
  for (;;) {
    if (off >= msg.length) return -1;
    const len = msg[off]!;
    if (len === 0) {
      off += 1;
      break;
    }
    // A compression pointer can only point at a prior occurrence (RFC 1035 §4.1.4), and
    // nothing but the header precedes the first question: a pointer here is malformed.
    if ((len & 0xc0) !== 0) return -1;
    nameLength += len + 1;
    // With the final zero octet, at most 255 (a 256-octet name echoed made a reply no client can read; NSD: FORMERR, header only).
    if (nameLength + 1 > 255) return -1;
    off += len + 1;
  }
  return off + 4 <= msg.length ? off + 4 : -1;
}

/**
 * A reply built from the query's bytes: ID and opcode kept, QR set, RD and CD
 * copied (RFC 1035 §4.1.1, RFC 4035 §3.2.2), the given RCODE, and the question
 * echoed when `questionEnd` is the offset past it (-1: no question).
 */
export function headerOnlyReply(query: Uint8Array, rcode: number, questionEnd = -1): Buffer {
  const withQuestion = questionEnd > HEADER_LENGTH;
  const reply = Buffer.alloc(withQuestion ? questionEnd : HEADER_LENGTH);
  reply[0] = query[0]!;
  reply[1] = query[1]!;
  reply[2] = 0x80 | (query[2]! & 0x79); // QR=1, opcode kept, RD kept, AA and TC clear
  reply[3] = (query[3]! & 0x10) | (rcode & 0xf); // CD kept, RA/Z/AD clear
  if (withQuestion) {
    reply[5] = 1;
    reply.set(query.subarray(HEADER_LENGTH, questionEnd), HEADER_LENGTH);
  }
  return reply;
}
