/** The clock the UDP engines hold for a received batch: the time read once when recvmmsg returns, not once per datagram. */

/**
 * A clock (ms) read by the reply cache and the query pipeline. Between
 * `hold()` and `release()` (one received batch) it gives the time `hold`
 * read; otherwise Date.now(). Every datagram of a batch arrived before the
 * recvmmsg that returned them, so expiry and TTLs counted down (RFC 1035
 * §7.4), RRL seconds and cookie timestamps see the time the batch was
 * taken, behind by at most the batch's own handling; work done after the
 * batch (a forwarded reply arriving later) reads the real time.
 */
export class BatchClock {
  private ms = 0;
  private held = false;
  /** Reads the time, and gives it until release(). */
  hold(): void {
    this.ms = Date.now();
    this.held = true;
  }
  /** The batch is done: the clock reads the real time again. */
  release(): void {
    this.held = false;
  }
  /** The held time within a batch, else Date.now(). */
  readonly now = (): number => (this.held ? this.ms : Date.now());
}
