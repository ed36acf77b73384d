/** Sections: the sections of an authoritative response to one IN question (respond()), as record references — chains, referrals, negatives, additionals, DNSSEC signatures and denial proofs. Pure. */

import { RCODE } from '../dns/header.js';
import { NODE, type ZoneImage } from '../zone/image/image.js';
import { Nsec3Proofs } from './nsec3-proofs.js';
import { lookup, TYPE, wildcardOf } from './lookup.js';
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
 *
 * The sections are NSD's: answer, authority, optional authority (the zone's
 * NS of a positive answer, RFC 2181 §9), then additional addresses, A before
 * AAAA (for an IPv6 asker, AAAA before A for NS targets). Each RRset is
 * followed by its signatures when the asker set DO in a signed zone (RFC
 * 4035 §3.1.1); writeReply keeps or drops an RRset with them.
 */
export class Sections {
  readonly kind = 'sections';
  rcode: number = RCODE.NOERROR;
  aa = true;
  readonly answers = new RecordList();
  readonly authorities = new RecordList();
  /** The zone's NS of a positive answer: left out (with what follows) when the reply would grow too big. */
  readonly optionalAuthorities = new RecordList();
  /** Additional addresses, the first kind (A; AAAA for NS targets to an IPv6 asker). */
  readonly additionalA = new RecordList();
  /** Additional addresses, the second kind. */
  readonly additionalAAAA = new RecordList();
  /** The response refers (a delegation): with no address of the first kind fitting, it is truncated (as NSD). */
  referral = false;
  /** A CNAME/DNAME chain leads out of our zones (to the last answer record's target): a resolver may chase it. */
  leadsOut = false;

  /** The asker set DO (RFC 3225): signatures and denial proofs go in. */
  private dnssec = false;
  /** The asker is on IPv6 (NS targets' AAAA go first, as NSD). */
  private v6 = false;
  /** The question's class is ANY (255): as NSD, AA clear, no NS in authority, no SOA in negatives. */
  private classAny = false;
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
  /** NSEC3 denial (RFC 5155 §7.2), added to the authority section. */
  private readonly nsec3 = new Nsec3Proofs((zone, node) => this.addNsec3(zone, node));

  /** Forgets the records (and the images they point into) once the reply is written or copied. */
  release(): void {
    this.answers.release();
    this.authorities.release();
    this.optionalAuthorities.release();
    this.additionalA.release();
    this.additionalAAAA.release();
  }

  /** Empties the sections for a new response. */
  private reset(dnssec: boolean, v6: boolean, classAny: boolean): void {
    this.rcode = RCODE.NOERROR;
    this.aa = !classAny;
    this.classAny = classAny;
    this.answers.clear();
    this.authorities.clear();
    this.optionalAuthorities.clear();
    this.additionalA.clear();
    this.additionalAAAA.clear();
    this.referral = false;
    this.leadsOut = false;
    this.seenCount = 0;
    this.dnssec = dnssec;
    this.v6 = v6;
  }

  /**
   * Builds the response to the question name `qname[qnameAt]` (uncompressed
   * wire form, the asker's case) and type `qtype` from `zones`, or says no
   * zone of ours holds the name (the caller refuses or forwards). CNAME and
   * DNAME chains are followed through every zone we serve (RFC 1034 §4.3.2
   * step 3a), at most MAX_CHAIN links, stopping at a loop; the final link
   * decides the RCODE (RFC 6604 §2.1). Like NSD: positive answers carry the
   * zone's NS RRset in authority with addresses for it, except for DNSKEY,
   * DS and ANY; negative ones the SOA with TTL = min(SOA TTL, MINIMUM) (RFC
   * 2308 §3); referrals have AA clear; an RRset is in a response once;
 * `classAny`: a class ANY question gets AA clear and neither NS nor SOA in
 * authority.
   * Records keep their node's case; a wildcard's take the name asked, an
   * alias target's the case the CNAME wrote it in.
   *
   * With `dnssec` (DO), as NSD and RFC 4035 §3.1 say: signatures with each
   * RRset of a signed zone (not glue, not the synthesized CNAME), and
   * denial: NSEC covering the name and the wildcard (NXDOMAIN), at the name
   * (NODATA), covering the name for a wildcard answer (RFC 4035 §3.1.3);
   * NSEC3 closest-encloser proofs (RFC 5155 §7.2.1–§7.2.6); at a
   * delegation, the DS or the proof there is none.
   */
  respond(zones: ZoneSet, qname: Uint8Array, qnameAt: number, qtype: number, dnssec = false, v6 = false, classAny = false): RespondOutcome {
    let len = nameLength(qname, qnameAt);
    lowerName(qname, qnameAt, len, this.lower, 0);
    if (zones.darkCount > 0 && zones.isDark(this.lower, 0, len)) return UNAVAILABLE;
    let zone = zones.forQuestion(this.lower, 0, len, qtype);
    if (zone === undefined) return NOT_OURS;
    this.reset(dnssec, v6, classAny);
    // The current link's name in its written case.
    let name = qname;
    let nameAt = qnameAt;
    for (let link = 0; zone !== undefined && link <= MAX_CHAIN; link++) {
      this.remember(len);
      const r = lookup(zone, this.lower, 0, len, qtype, dnssec);
      // Which denial this zone gives: NSEC3 with a usable chain, else NSEC when signed (as NSD).
      const nsec3 = dnssec && zone.nsec3ParamAt >= 0;
      const nsec = dnssec && zone.secure && !nsec3;
      switch (r.kind) {
        case 'answer': {
          if (r.wildcard && !this.wildcardProof(zone, r.encloser, len, nsec, nsec3)) return this;
          this.addAnswer(zone, r.node, r.set, r.wildcard ? name : zone.bytes, r.wildcard ? nameAt : zone.ownerAt(r.node), !r.wildcard);
          this.addAdditionals(zone, r.set);
          // NSD adds the zone's NS to positive answers, but not for DNSKEY, DS nor the minimal ANY (RFC 8482).
          if (qtype !== TYPE.ANY && qtype !== TYPE.DS && qtype !== TYPE.DNSKEY && !this.classAny) this.addZoneNs(zone);
          return this;
        }
        case 'cname':
        case 'dname': {
          let targetBytes: Uint8Array;
          let targetAt: number;
          if (r.kind === 'dname') {
            this.addSet(this.answers, zone, r.node, r.set, zone.bytes, zone.ownerAt(r.node), true);
            targetAt = this.synthesize(zone, r.set, name, nameAt, r.prefix, link);
            targetBytes = this.synth;
          } else {
            if (r.wildcard && !this.wildcardProof(zone, r.encloser, len, nsec, nsec3)) return this;
            this.addSet(this.answers, zone, r.node, r.set, r.wildcard ? name : zone.bytes, r.wildcard ? nameAt : zone.ownerAt(r.node), !r.wildcard);
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
          this.referral = true;
          this.addSet(this.authorities, zone, r.node, r.set, zone.bytes, zone.ownerAt(r.node), true);
          // RFC 4035 §3.1.4: the DS RRset, or the proof that there is none.
          if (dnssec && zone.secure) {
            const ds = zone.rrset(r.node, TYPE.DS);
            if (ds >= 0) this.addSet(this.authorities, zone, r.node, ds, zone.bytes, zone.ownerAt(r.node), true);
            else if (nsec3) this.nsec3.dsProof(zone, r.node, true);
            else this.addNsecAt(zone, r.node);
          }
          this.addAddresses(zone, r.set, 0, false, true);
          return this;
        }
        case 'nodata': {
          const ent = r.node !== 0 && zone.setCount(r.node) === 0;
          if (r.wildcard) {
            if (!this.wildcardProof(zone, r.encloser, len, nsec, nsec3)) return this;
          } else if (nsec3 && ent) {
            // NSD proves an empty non-terminal before its SOA.
            this.nsec3.nodata(zone, r.node, qtype);
          }
          this.addNegativeSoa(zone, r.soa);
          if (nsec3) this.nsec3.nodata(zone, r.node, qtype);
          else if (nsec) this.addCoveringNsec(zone, r.node);
          return this;
        }
        case 'nxdomain':
          this.rcode = RCODE.NXDOMAIN;
          if (nsec3) {
            if (!this.nsec3.closestEncloser(zone, r.encloser, this.lower, len)) return this.servfail();
          } else if (nsec) {
            this.addCoveringNsec(zone, zone.predecessor(this.lower, 0, len));
            const wild = wildcardOf(zone, r.encloser);
            this.addCoveringNsec(zone, zone.predecessor(wild, 0, wild.length));
          }
          this.addNegativeSoa(zone, r.soa);
          return this;
        case 'yxdomain':
          this.addSet(this.answers, zone, r.node, r.set, zone.bytes, zone.ownerAt(r.node), true);
          this.rcode = RCODE.YXDOMAIN;
          return this;
      }
    }
    // Left our zones, or too many links: what was found is the answer; the resolver chases the rest.
    return this;
  }

  /**
   * The proof that the name asked does not exist, which a wildcard answer
   * needs (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6): the NSEC covering the name,
   * or the NSEC3 covering the next closer name. False when the NSEC3 proof
   * cannot be made (the response is then SERVFAIL).
   */
  private wildcardProof(zone: ZoneImage, encloser: number, len: number, nsec: boolean, nsec3: boolean): boolean {
    if (nsec3) {
      if (!this.nsec3.nextCloser(zone, encloser, this.lower, len)) {
        this.servfail();
        return false;
      }
    } else if (nsec) {
      this.addCoveringNsec(zone, zone.predecessor(this.lower, 0, len));
    }
    return true;
  }

  /** NSD's answer when an NSEC3 hash of a name that does not exist matches a record (a broken chain): SERVFAIL. */
  private servfail(): this {
    this.rcode = RCODE.SERVFAIL;
    return this;
  }

  /**
   * Adds RRset `set` of node `node` to `list` under the owner at
   * `owner[ownerAt]` (`own`: the node's own name), unless the response holds
   * it already, then its signatures when they go (see addSigs).
   */
  private addSet(list: RecordList, zone: ZoneImage, node: number, set: number, owner: Uint8Array, ownerAt: number, own: boolean): void {
    if (own && this.holds(zone, set)) return;
    list.addSet(zone, set, owner, ownerAt, own);
    this.addSigs(list, zone, node, zone.setType(set), owner, ownerAt, own, zone.setTtl(set));
  }

  /**
   * The RRSIGs at `node` covering `type`, right after the RRset they sign,
   * when the asker set DO and the zone is signed (RFC 4035 §3.1.1). An RRSIG
   * covering the SOA takes the SOA's TTL as sent (`ttl`), as NSD does.
   */
  private addSigs(list: RecordList, zone: ZoneImage, node: number, type: number, owner: Uint8Array, ownerAt: number, own: boolean, ttl: number): void {
    if (!this.dnssec || !zone.secure || type === TYPE.RRSIG) return;
    const sigs = zone.sigs(node, type);
    if (sigs >= 0) list.addSet(zone, sigs, owner, ownerAt, own, true, type === TYPE.SOA ? ttl : zone.setTtl(sigs));
  }

  /** Whether the response holds RRset `set` of `zone` under its own name already. */
  private holds(zone: ZoneImage, set: number): boolean {
    return (
      this.answers.hasSet(zone, set) ||
      this.authorities.hasSet(zone, set) ||
      this.optionalAuthorities.hasSet(zone, set) ||
      this.additionalA.hasSet(zone, set) ||
      this.additionalAAAA.hasSet(zone, set)
    );
  }

  /** The answering set, or for an RRSIG set every RRSIG set of the node (all signatures at the name). */
  private addAnswer(zone: ZoneImage, node: number, set: number, owner: Uint8Array, ownerAt: number, own: boolean): void {
    if (zone.setType(set) !== TYPE.RRSIG) {
      this.addSet(this.answers, zone, node, set, owner, ownerAt, own);
      return;
    }
    const first = zone.firstSet(node);
    let joins = false;
    for (let s = first; s < first + zone.setCount(node); s++) {
      if (zone.setType(s) !== TYPE.RRSIG) continue;
      this.answers.addSet(zone, s, owner, ownerAt, own, joins);
      joins = true;
    }
  }

  /** The NSEC RRset at `node`, with its signatures, in authority (if the node has one). */
  private addNsecAt(zone: ZoneImage, node: number): void {
    const set = zone.rrset(node, TYPE.NSEC);
    if (set >= 0) this.addSet(this.authorities, zone, node, set, zone.bytes, zone.ownerAt(node), true);
  }

  /**
   * The NSEC that covers (or matches) the name sorting at node `from`: the
   * first NSEC at or before it in canonical order, not looking before the
   * apex (NSD's find_covering_nsec; empty non-terminals and glue own none).
   */
  private addCoveringNsec(zone: ZoneImage, from: number): void {
    for (let n = from; n >= 0; n--) {
      const set = zone.rrset(n, TYPE.NSEC);
      if (set >= 0) {
        this.addSet(this.authorities, zone, n, set, zone.bytes, zone.ownerAt(n), true);
        return;
      }
    }
  }

  /** An NSEC3 node's NSEC3 RRset (and signatures) in authority. */
  private addNsec3(zone: ZoneImage, node: number): void {
    const set = zone.rrset(node, TYPE.NSEC3);
    if (set >= 0) this.addSet(this.authorities, zone, node, set, zone.bytes, zone.ownerAt(node), true);
  }

  /**
   * RFC 6672 §2.2: writes the CNAME a DNAME stands for into this response's
   * octets — owner the link's name, RDATA the name's `prefix` octets followed
   * by the DNAME's target, TTL the DNAME's (RFC 6672 §2.3; BIND and NSD do
   * so) — and adds it to the answer, unsigned (RFC 6672 §5.3.1). Returns
   * where the new name starts.
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

  /** NSD puts the zone's NS RRset in (optional) authority of positive answers, with its addresses in additional. */
  private addZoneNs(zone: ZoneImage): void {
    const ns = zone.rrset(0, TYPE.NS);
    if (ns < 0 || this.holds(zone, ns)) return;
    this.addSet(this.optionalAuthorities, zone, 0, ns, zone.bytes, zone.ownerAt(0), true);
    this.addAddresses(zone, ns, 0, true, true);
  }

  /**
   * Additional section processing (RFC 1035 §3.3.9, §3.3.11, RFC 2782):
   * addresses of MX, SRV and NS targets in the same zone (as NSD: not from
   * our other zones; for MX and SRV not glue).
   */
  private addAdditionals(zone: ZoneImage, set: number): void {
    const type = zone.setType(set);
    if (type === TYPE.NS) this.addAddresses(zone, set, 0, true, true);
    else if (type === TYPE.MX) this.addAddresses(zone, set, 2, true, false);
    else if (type === TYPE.SRV) this.addAddresses(zone, set, 6, true, false);
  }

  /**
   * Adds to additional the A and AAAA sets the zone holds for the name
   * `skip` octets into each record's RDATA, except what the response holds
   * already; `skipRoot`: no addresses for the root name (a "no service"
   * target); `glue`: targets at or below a zone cut count (NS only).
   */
  private addAddresses(zone: ZoneImage, set: number, skip: number, skipRoot: boolean, glue: boolean): void {
    const bytes = zone.bytes;
    const ns = zone.setType(set) === TYPE.NS;
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
      if (!glue && zone.is(node, NODE.cut | NODE.belowCut)) continue;
      const swap = ns && this.v6;
      const a = zone.rrset(node, TYPE.A);
      if (a >= 0) this.addSet(swap ? this.additionalAAAA : this.additionalA, zone, node, a, zone.bytes, zone.ownerAt(node), true);
      const aaaa = zone.rrset(node, TYPE.AAAA);
      if (aaaa >= 0) this.addSet(swap ? this.additionalA : this.additionalAAAA, zone, node, aaaa, zone.bytes, zone.ownerAt(node), true);
    }
  }

  /** RFC 2308 §3: the SOA in a negative answer has TTL min(SOA TTL, SOA MINIMUM); its RRSIG the same (as NSD). None for class ANY (as NSD). */
  private addNegativeSoa(zone: ZoneImage, soa: number): void {
    if (this.classAny) return;
    const bytes = zone.bytes;
    const at = zone.setRdataAt(soa);
    const end = at + 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
    const minimum = ((bytes[end - 4]! << 24) | (bytes[end - 3]! << 16) | (bytes[end - 2]! << 8) | bytes[end - 1]!) >>> 0;
    const ttl = Math.min(zone.setTtl(soa), minimum);
    const ref = this.authorities.add();
    ref.image = zone;
    ref.set = soa;
    ref.type = TYPE.SOA;
    ref.ttl = ttl;
    ref.owner = zone.bytes;
    ref.ownerAt = zone.ownerAt(0);
    ref.data = bytes;
    ref.dataAt = at;
    ref.own = ttl === zone.setTtl(soa);
    this.addSigs(this.authorities, zone, 0, TYPE.SOA, zone.bytes, zone.ownerAt(0), true, ttl);
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

/** respond()'s outcome for a name in a zone of ours that has no data (ZoneSet.isDark): answered SERVFAIL. */
export const UNAVAILABLE = { kind: 'unavailable' } as const;

/** What respond() decides: the filled sections, not ours, or ours without data. */
export type RespondOutcome = typeof NOT_OURS | typeof UNAVAILABLE | Sections;
