/** ReplyStream: a reply of many messages (a zone transfer over TCP), produced one message at a time as the connection takes them. */

/** The TCP length field before each message (RFC 1035 §4.2.2, RFC 7766 §8). */
export const LENGTH_OCTETS = 2;
/** The most one framed message takes over TCP: the length field and 65535 octets. */
export const MAX_FRAME = LENGTH_OCTETS + 65535;

/**
 * The messages of one multi-message reply, made on demand so a large zone
 * is never held in memory whole: the TCP engine asks for the next message
 * when the connection can take it (src/net/tcp.ts). `next()` returns null
 * once the last message was given; `close()` lets go of what the stream
 * holds (a zone image) and is called exactly when the stream is done or the
 * connection closes first (it may be called more than once).
 */
export interface ReplyStream {
  /** The next message, or null when every message was given. May throw (a bug): the connection is then closed. */
  next(): Buffer | null;
  /** Releases the stream's hold on its data; afterwards next() returns null. */
  close(): void;
  /**
   * Set when the messages are views into memory the stream reuses (a
   * MessageRing, src/xfr/ring.ts) rather than a buffer each: every message
   * has two octets free before it in its buffer (for the TCP length), and
   * its octets stay as given until more than this many octets of later
   * messages (with their length fields, the one written over it included)
   * were made. The TCP engine asks for the next message only while fewer
   * than `reuseAfter - MAX_FRAME` octets are unsent (src/net/tcp.ts).
   */
  readonly reuseAfter?: number;
}

/** A stream of messages already made (tests, and short replies made whole). */
export function streamOf(messages: readonly Buffer[], onClose: () => void = () => undefined): ReplyStream {
  let i = 0;
  let closed = false;
  return {
    next: () => (closed || i >= messages.length ? null : messages[i++]!),
    close: () => {
      if (closed) return;
      closed = true;
      onClose();
    },
  };
}
