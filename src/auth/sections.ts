/** Sections: the sections of an authoritative response to one IN question (respond()), as record references — chains, referrals, negatives, additionals. Pure. */

import { RCODE } from '../dns/header.js';
import type { ZoneImage } from '../zone/image/image.js';
import { lookup, TYPE } from './lookup.js';
import { RecordList } from './records.js';
import { lowerName, MAX_NAME, nameLength, sameOctets } from './wire-name.js';
import type { ZoneSet } from './zone-set.js';

/** The most CNAME/DNAME links an answer follows before it stops (BIND and NSD use small limits too). */
export const MAX_CHAIN = 8;

/** Links a response can visit: the question's name and MAX_CHAIN targets. */
const LINKS = MAX_CHAIN + 1;
/** Room for one synthesized CNAME's RDLENGTH and RDATA. */
const SYNTH = 2 + MAX_NAME;

/**
 * The sections and flags of an authoritative response, before EDNS and size
 * limits, and the octets it owns (the synthesized CNAMEs of DNAMEs). One is
 * reused from query to query: what respond() fills is valid until the next
 * call, and its references only while the images they point into are.
 */
export class Sections {
  readonly kind = 'sections';
  rcode: number = RCODE.NOERROR;
  aa = true;
  readonly answers = new RecordList();
  readonly authorities = new RecordList();
  readonly additionals = new RecordList();
  /** The authority section may be left out to fit (RFC 2181 §9); the answer may not. */
  optionalAuthority = false;
  /** The additional section is glue a referral needs (RFC 9471 §3); without it, truncate. */
  requiredAdditional = false;
  /** A CNAME/DNAME chain leads out of our zones (to the last answer record's target): a resolver may chase it. */
  leadsOut = false;

  /** Synthesized CNAMEs: RDLENGTH and RDATA, one slot per link. */
  private readonly synth = new Uint8Array(LINKS * SYNTH);
  /** The lower-cased name of each link visited, to stop at a loop. */
  private readonly seen = new Uint8Array(LINKS * MAX_NAME);
  private readonly seenLength = new Int32Array(LINKS);
  private seenCount = 0;
  /** The lower-cased name being looked up, and the next link's. */
  private lower = new Uint8Array(MAX_NAME);
  private next = new Uint8Array(MAX_NAME);
  /** Scratch for an NS, MX or SRV target, lower-cased. */
  private readonly target = new Uint8Array(MAX_NAME);

  /** Forgets the records (and the images they point into) once the reply is written or copied. */
  release(): void {
    this.answers.release();
    this.authorities.release();
    this.additionals.release();
  }

  /** Empties the sections for a new response. */
  private reset(): void {
    this.rcode = RCODE.NOERROR;
    this.aa = true;
    this.answers.clear();
    this.authorities.clear();
    this.additionals.clear();
    this.optionalAuthority = false;
    this.requiredAdditional = false;
    this.leadsOut = false;
    this.seenCount = 0;
  }

  /**
   * Builds the response to the question name `qname[qnameAt]` (uncompressed
   * wire form, the asker's case) and type `qtype` from `zones`, or says no
   * zone of ours holds the name (the caller refuses or forwards). CNAME and
   * DNAME chains are followed through every zone we serve (RFC 1034 §4.3.2
   * step 3a), at most MAX_CHAIN links, stopping at a loop; the final link
   * decides the RCODE (RFC 6604 §2.1). Like NSD: positive answers carry the
   * zone's NS RRset in authority with addresses for it; negative ones the
   * SOA with TTL = min(SOA TTL, MINIMUM) (RFC 2308 §3); referrals have AA
   * clear; a record already in the answer is not repeated in additional.
   * Records keep their node's case; a wildcard's take the name asked, an
   * alias target's the case the CNAME wrote it in.
   */
  respond(zones: ZoneSet, qname: Uint8Array, qnameAt: number, qtype: number): RespondOutcome {
    let len = nameLength(qname, qnameAt);
    lowerName(qname, qnameAt, len, this.lower, 0);
    let zone = zones.forQuestion(this.lower, 0, len, qtype);
    if (zone === undefined) return NOT_OURS;
    this.reset();
    // The current link's name in its written case.
    let name = qname;
    let nameAt = qnameAt;
    for (let link = 0; zone !== undefined && link <= MAX_CHAIN; link++) {
      this.remember(len);
      const r = lookup(zone, this.lower, 0, len, qtype);
      switch (r.kind) {
        case 'answer': {
          this.addAnswer(zone, r.node, r.set, r.wildcard ? name : zone.bytes, r.wildcard ? nameAt : zone.ownerAt(r.node), !r.wildcard);
          this.addAdditionals(zone, r.set);
          // NSD adds the zone's NS to positive answers, but not to the minimal ANY
          // answer (RFC 8482) nor to a DS answered at a cut from the parent side.
          if (qtype !== TYPE.ANY && !(qtype === TYPE.DS && len !== zone.originKey.length)) {
            const apexNs = r.node === 0 && !r.wildcard && zone.setType(r.set) === TYPE.NS;
            if (!apexNs) this.addZoneNs(zone);
          }
          // A record already in the answer is not repeated in additional (as NSD: ns1's A asked for itself).
          this.additionals.removeFoundIn(this.answers);
          return this;
        }
        case 'cname':
        case 'dname': {
          let targetBytes: Uint8Array;
          let targetAt: number;
          if (r.kind === 'dname') {
            this.answers.addSet(zone, r.set, zone.bytes, zone.ownerAt(r.node), true);
            targetAt = this.synthesize(zone, r.set, name, nameAt, r.prefix, link);
            targetBytes = this.synth;
          } else {
            this.answers.addSet(zone, r.set, r.wildcard ? name : zone.bytes, r.wildcard ? nameAt : zone.ownerAt(r.node), !r.wildcard);
            targetBytes = zone.bytes;
            targetAt = zone.setRdataAt(r.set) + 2; // the first record's RDATA is the target
          }
          // The synthesized CNAME is itself the answer to a CNAME question (RFC 6672 §3.2).
          if (qtype === TYPE.CNAME) return this;
          const targetLen = nameLength(targetBytes, targetAt);
          lowerName(targetBytes, targetAt, targetLen, this.next, 0);
          // A loop: the links found are the answer (as NSD gives it).
          if (this.visited(this.next, targetLen)) return this;
          const swap = this.lower;
          this.lower = this.next;
          this.next = swap;
          len = targetLen;
          name = targetBytes;
          nameAt = targetAt;
          zone = zones.forQuestion(this.lower, 0, len, qtype);
          if (zone === undefined) this.leadsOut = true;
          break;
        }
        case 'delegation': {
          // A referral; at the end of a chain, the chain is answered and its end referred (as NSD does).
          if (link === 0) this.aa = false;
          this.authorities.addSet(zone, r.set, zone.bytes, zone.ownerAt(r.node), true);
          this.requiredAdditional = this.addAddresses(zone, r.set, 0, false) > 0;
          return this;
        }
        case 'nodata':
          this.addNegativeSoa(zone, r.soa);
          return this;
        case 'nxdomain':
          this.rcode = RCODE.NXDOMAIN;
          this.addNegativeSoa(zone, r.soa);
          return this;
        case 'yxdomain':
          this.answers.addSet(zone, r.set, zone.bytes, zone.ownerAt(r.node), true);
          this.rcode = RCODE.YXDOMAIN;
          return this;
      }
    }
    // Left our zones, or too many links: what was found is the answer; the resolver chases the rest.
    return this;
  }

  /** The answering set, or for an RRSIG set every RRSIG set of the node (all signatures at the name). */
  private addAnswer(zone: ZoneImage, node: number, set: number, owner: Uint8Array, ownerAt: number, own: boolean): void {
    if (zone.setType(set) !== TYPE.RRSIG) {
      this.answers.addSet(zone, set, owner, ownerAt, own);
      return;
    }
    const first = zone.firstSet(node);
    for (let s = first; s < first + zone.setCount(node); s++) if (zone.setType(s) === TYPE.RRSIG) this.answers.addSet(zone, s, owner, ownerAt, own);
  }

  /**
   * RFC 6672 §2.2: writes the CNAME a DNAME stands for into this response's
   * octets — owner the link's name, RDATA the name's `prefix` octets followed
   * by the DNAME's target, TTL the DNAME's (RFC 6672 §2.3; BIND and NSD do
   * so) — and adds it to the answer. Returns where the new name starts.
   */
  private synthesize(zone: ZoneImage, dname: number, name: Uint8Array, nameAt: number, prefix: number, link: number): number {
    const out = this.synth;
    const at = link * SYNTH;
    const from = zone.setRdataAt(dname);
    const bytes = zone.bytes;
    const targetLength = (bytes[from]! << 8) | bytes[from + 1]!;
    const length = prefix + targetLength;
    out[at] = length >> 8;
    out[at + 1] = length & 0xff;
    for (let i = 0; i < prefix; i++) out[at + 2 + i] = name[nameAt + i]!;
    for (let i = 0; i < targetLength; i++) out[at + 2 + prefix + i] = bytes[from + 2 + i]!;
    const ref = this.answers.add();
    ref.type = TYPE.CNAME;
    ref.ttl = zone.setTtl(dname);
    ref.owner = name;
    ref.ownerAt = nameAt;
    ref.data = out;
    ref.dataAt = at;
    return at + 2;
  }

  /** NSD puts the zone's NS RRset in authority of positive answers, with its addresses in additional. */
  private addZoneNs(zone: ZoneImage): void {
    const ns = zone.rrset(0, TYPE.NS);
    if (ns < 0) return;
    this.authorities.addSet(zone, ns, zone.bytes, zone.ownerAt(0), true);
    this.optionalAuthority = true;
    this.addAddresses(zone, ns, 0, true);
  }

  /**
   * Additional section processing (RFC 1035 §3.3.9, §3.3.11, RFC 2782):
   * addresses of MX, SRV and NS targets in the same zone (as NSD: not from our other zones).
   */
  private addAdditionals(zone: ZoneImage, set: number): void {
    const type = zone.setType(set);
    if (type === TYPE.NS) this.addAddresses(zone, set, 0, true);
    else if (type === TYPE.MX) this.addAddresses(zone, set, 2, true);
    else if (type === TYPE.SRV) this.addAddresses(zone, set, 6, true);
  }

  /**
   * Adds to additional the A and AAAA sets the zone holds (at any node, glue
   * included) for the name `skip` octets into each record's RDATA, except
   * what is there already; `skipRoot`: no addresses for the root name (a
   * "no service" target). Returns the number of address sets found.
   */
  private addAddresses(zone: ZoneImage, set: number, skip: number, skipRoot: boolean): number {
    const bytes = zone.bytes;
    let found = 0;
    let at = zone.setRdataAt(set);
    for (let i = zone.setSize(set); i > 0; i--) {
      const rdlength = (bytes[at]! << 8) | bytes[at + 1]!;
      const nameAt = at + 2 + skip;
      at += 2 + rdlength;
      if (skipRoot && bytes[nameAt] === 0) continue;
      const len = nameLength(bytes, nameAt);
      lowerName(bytes, nameAt, len, this.target, 0);
      const node = zone.find(this.target, 0, len);
      if (node < 0) continue;
      const a = zone.rrset(node, TYPE.A);
      if (a >= 0) {
        this.additionals.addSetUnique(zone, a, node);
        found++;
      }
      const aaaa = zone.rrset(node, TYPE.AAAA);
      if (aaaa >= 0) {
        this.additionals.addSetUnique(zone, aaaa, node);
        found++;
      }
    }
    return found;
  }

  /** RFC 2308 §3: the SOA in a negative answer has TTL min(SOA TTL, SOA MINIMUM). */
  private addNegativeSoa(zone: ZoneImage, soa: number): void {
    const bytes = zone.bytes;
    const at = zone.setRdataAt(soa);
    const end = at + 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
    const minimum = ((bytes[end - 4]! << 24) | (bytes[end - 3]! << 16) | (bytes[end - 2]! << 8) | bytes[end - 1]!) >>> 0;
    const ttl = zone.setTtl(soa);
    const ref = this.authorities.add();
    ref.image = zone;
    ref.set = soa;
    ref.type = TYPE.SOA;
    ref.ttl = Math.min(ttl, minimum);
    ref.owner = zone.bytes;
    ref.ownerAt = zone.ownerAt(0);
    ref.data = bytes;
    ref.dataAt = at;
    ref.own = ref.ttl === ttl;
  }

  /** Notes the lower-cased name being looked up as visited. */
  private remember(len: number): void {
    const at = this.seenCount * MAX_NAME;
    for (let i = 0; i < len; i++) this.seen[at + i] = this.lower[i]!;
    this.seenLength[this.seenCount++] = len;
  }

  /** Whether a lower-cased name was looked up already in this response. */
  private visited(name: Uint8Array, len: number): boolean {
    for (let k = 0; k < this.seenCount; k++) if (this.seenLength[k] === len && sameOctets(this.seen, k * MAX_NAME, name, 0, len)) return true;
    return false;
  }
}

/** respond()'s word for "no zone of ours holds this name". */
export const NOT_OURS = { kind: 'not-ours' } as const;

/** What respond() decides: the filled sections, or not ours. */
export type RespondOutcome = typeof NOT_OURS | Sections;
