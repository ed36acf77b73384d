/** ReplyStream: a reply of many messages (a zone transfer over TCP), produced one message at a time as the connection takes them. */

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
