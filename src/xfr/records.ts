/** Resource records as uncompressed wire octets back to back (owner, type, class, TTL, RDLENGTH, RDATA): appending them, and walking them. Pure. */

/** Class IN. */
const IN = 1;

/** Records appended as uncompressed wire form into a growing buffer. */
export class RecordArena {
  bytes = new Uint8Array(4096);
  length = 0;
  count = 0;

  /** Appends one record. */
  push(owner: Uint8Array, ownerAt: number, ownerLength: number, type: number, ttl: number, data: Uint8Array, dataAt: number): void {
    const rdlength = (data[dataAt]! << 8) | data[dataAt + 1]!;
    const need = ownerLength + 10 + rdlength;
    if (this.length + need > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < this.length + need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    const b = this.bytes;
    let w = this.length;
    b.set(owner.subarray(ownerAt, ownerAt + ownerLength), w);
    w += ownerLength;
    b[w] = type >> 8;
    b[w + 1] = type & 0xff;
    b[w + 2] = 0;
    b[w + 3] = IN;
    b[w + 4] = ttl >>> 24;
    b[w + 5] = (ttl >>> 16) & 0xff;
    b[w + 6] = (ttl >>> 8) & 0xff;
    b[w + 7] = ttl & 0xff;
    b.set(data.subarray(dataAt, dataAt + 2 + rdlength), w + 8);
    this.length = w + 10 + rdlength;
    this.count++;
  }

  /** The records, copied out at their size. */
  take(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** One record of a region, by offsets into it. */
export interface WireRecordAt {
  /** Where the owner name starts, and where it ends (one past its zero octet). */
  ownerAt: number;
  nameEnd: number;
  type: number;
  klass: number;
  ttl: number;
  /** Where RDLENGTH is (the RDATA follows it). */
  dataAt: number;
  /** One past the record's last octet. */
  end: number;
}

/**
 * Calls `fn` with every record of `region` (uncompressed records back to
 * back, as RecordArena writes them and a journal holds them), in order.
 * The region must be well formed (it is our own or a checked transfer's).
 */
export function forEachRecord(region: Uint8Array, fn: (r: WireRecordAt) => void): void {
  let at = 0;
  while (at < region.length) {
    let e = at;
    while (region[e] !== 0) e += region[e]! + 1;
    const nameEnd = e + 1;
    const rdlength = (region[nameEnd + 8]! << 8) | region[nameEnd + 9]!;
    const end = nameEnd + 10 + rdlength;
    fn({
      ownerAt: at,
      nameEnd,
      type: (region[nameEnd]! << 8) | region[nameEnd + 1]!,
      klass: (region[nameEnd + 2]! << 8) | region[nameEnd + 3]!,
      ttl: ((region[nameEnd + 4]! << 24) | (region[nameEnd + 5]! << 16) | (region[nameEnd + 6]! << 8) | region[nameEnd + 7]!) >>> 0,
      dataAt: nameEnd + 8,
      end,
    });
    at = end;
  }
}
