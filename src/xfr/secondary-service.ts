/**
 * The supervisor's secondary side: the secondary zones' kept data built at
 * start, their clock (src/xfr/secondary.ts) wired to SOA queries, transfer
 * jobs in builder processes and the workers' images, NOTIFY from workers,
 * and catalog zones (RFC 9432) whose members come and go as secondary zones.
 */

import { existsSync } from 'node:fs';
import type { Config, SecondaryZone } from '../config.js';
import type { ZoneBuilder } from '../builder.js';
import type { ZoneStanding } from '../ipc.js';
import type { Logger } from '../log.js';
import { mapFile } from '../sys/mapping.js';
import { ZoneImage } from '../zone/image/image.js';
import { reuseAll, type BuiltZone } from '../zone/image/reuse.js';
import { catalogChanges, catalogMembers, catalogNameKey, type CatalogMember } from './catalog.js';
import { readSecondaryState, removeSecondaryFiles, secondaryZonePath, writeSecondaryState, type SecondaryState, type TransferRecord } from './secondary-files.js';
import { SecondaryZones, type SecondaryStatus, type SoaCheck } from './secondary.js';
import { querySoa } from './transfer-in.js';
import { tsigKey, TsigKeyring } from './tsig.js';

/** How long an SOA query to a primary may take (RFC 1035 §4.3.5 leaves it to us; NSD waits a few seconds). */
export const SOA_TIMEOUT_MS = 5000;

/** A catalog's member, as a zone: the catalog's settings, the member's name. */
interface Member {
  spec: SecondaryZone;
  catalog: string;
  entry: CatalogMember;
}

/**
 * Runs every secondary zone of the config, and the members of its catalog
 * zones. `publish` is the supervisor's: have every worker map what
 * {@link served} and {@link standing} say now.
 */
export class SecondaryService {
  private readonly clock: SecondaryZones;
  private readonly served = new Map<string, BuiltZone | null>();
  private readonly members = new Map<string, Member>();
  /** The TSIG keys primaries are asked with. */
  private readonly keyring: TsigKeyring;
  /** Each catalog's member list as last applied (its last valid version). */
  private readonly catalogs = new Map<string, CatalogMember[]>();
  /** Refresh states not yet written, by lower-cased origin; the write is due at `writeTimer`. */
  private readonly unwritten = new Map<string, SecondaryState>();
  private writeTimer: NodeJS.Immediate | null = null;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly builder: ZoneBuilder,
    private readonly publish: () => void,
    recorded: (record: TransferRecord) => void = () => undefined,
  ) {
    this.keyring = new TsigKeyring(config.keys.map(tsigKey));
    this.clock = new SecondaryZones({
      now: () => Date.now(),
      querySoa: (origin, p) => this.querySoa(origin, p.address, p.port, p.key),
      fetch: (job) => this.builder.fetch(job, this.config.keys),
      serve: (origin, zone) => this.serve(origin, zone),
      persist: (state) => this.persist(state),
      recorded,
      log,
    });
  }

  /** The configured secondary zones. */
  private get configured(): SecondaryZone[] {
    return this.config.zones.filter((z): z is SecondaryZone => z.type === 'secondary');
  }

  /** Whether there is anything to run. */
  get empty(): boolean {
    return this.configured.length === 0;
  }

  /**
   * Builds (or reuses) the images of the data kept in the state directory,
   * for the configured zones and then the members of their catalogs, and
   * starts every zone's clock. A kept file that does not build is logged
   * and the zone starts without data (its first transfer brings it).
   */
  async start(): Promise<void> {
    const kept = await this.buildKept(this.configured);
    for (const spec of this.configured) this.addZone(spec, kept.get(spec.name) ?? null);
    // Catalogs first read from their kept data: their members start with theirs.
    for (const spec of this.configured.filter((z) => z.catalog === true)) {
      const zone = this.served.get(spec.name) ?? null;
      if (zone !== null) await this.applyCatalog(spec, zone);
    }
  }

  /** Starts the zones' clocks: called once the workers serve. */
  begin(): void {
    this.clock.begin();
  }

  /** Every secondary zone's served version (not the dark ones). */
  servedZones(): BuiltZone[] {
    return [...this.served.values()].filter((z): z is BuiltZone => z !== null);
  }

  /** The zones without data, and the catalog members (for the workers' NOTIFY and transfer policy). */
  standing(): ZoneStanding {
    return { dark: [...this.served].filter(([, z]) => z === null).map(([o]) => o), members: [...this.members.values()].map((m) => m.spec) };
  }

  /** Images to keep in the state directory: those served, and kept versions of expired zones (served again once a primary confirms them). */
  keptImages(): string[] {
    return this.clock.keptImages();
  }

  /** A worker accepted a NOTIFY for one of our secondary zones. */
  notified(origin: string, serial: number | null, from: string): void {
    this.clock.notified(origin, serial, from);
  }

  /** Checks a secondary zone with its primaries now; false when it is not one. */
  refresh(origin: string, why: string): boolean {
    return this.clock.refresh(origin, why);
  }

  /** Every zone's standing and last transfer, for `ctl status`. */
  status(): SecondaryStatus[] {
    return this.clock.status();
  }

  stop(): void {
    this.clock.stop();
    this.writeStates();
  }

  /**
   * Keeps a zone's refresh state, written (with fsync) once this turn of the
   * event loop is over: a transfer's new image goes to the workers first
   * (their map messages leave in this turn), the file follows. The state is
   * the timers and the last contact, not the data: a crash between leaves
   * the previous state, whose older contact only brings expiry forward.
   */
  private persist(state: SecondaryState): void {
    this.unwritten.set(state.origin.toLowerCase(), state);
    this.writeTimer ??= setImmediate(() => this.writeStates());
  }

  /** Writes every state kept since the last time. */
  private writeStates(): void {
    if (this.writeTimer !== null) clearImmediate(this.writeTimer);
    this.writeTimer = null;
    const states = [...this.unwritten.values()];
    this.unwritten.clear();
    for (const state of states) {
      const w = writeSecondaryState(this.config.stateDir, state);
      if (w.kind === 'error') this.log.warn(`zone ${state.origin}: cannot keep its refresh state: ${w.error.describe()}`);
    }
  }

  /** Adds a zone with its kept image (or none) and its persisted refresh state. */
  private addZone(spec: SecondaryZone, kept: BuiltZone | null): void {
    const { state, warning } = readSecondaryState(this.config.stateDir, spec.name);
    if (warning !== null) this.log.warn(warning);
    this.clock.add(spec, kept, state, state.timers ?? null);
    this.served.set(spec.name, this.clock.servedVersion(spec.name));
  }

  /** The images of kept data (reused when unchanged), by origin; zones whose file does not build are left out (and logged). */
  private async buildKept(zones: readonly SecondaryZone[]): Promise<Map<string, BuiltZone>> {
    const out = new Map<string, BuiltZone>();
    const configs = zones.map((z) => ({ name: z.name, file: secondaryZonePath(this.config.stateDir, z.name), journal: true })).filter((c) => existsSync(c.file));
    if (configs.length === 0) return out;
    const reused = reuseAll(configs, this.config.stateDir);
    const built = reused !== null ? { kind: 'ok' as const, zones: reused.zones } : (await this.builder.build(configs)).outcome;
    for (const z of built.zones) out.set(z.origin, z);
    if (built.kind === 'error') {
      for (const f of built.failed) this.log.error(`zone ${f.origin}: the data kept from its last transfer does not build (${f.errors.join('; ')}); transferring it anew`);
    }
    return out;
  }

  /** The clock's `serve`: a zone's new version (or none: expired), then the workers are told, then a catalog's members follow. */
  private serve(origin: string, zone: BuiltZone | null): void {
    this.served.set(origin, zone);
    this.publish();
    const spec = this.configured.find((z) => z.name === origin && z.catalog === true);
    if (spec !== undefined && zone !== null) {
      void this.applyCatalog(spec, zone).catch((err: unknown) => this.log.error(`catalog ${origin}: ${(err as Error).message}`));
    }
  }

  /** Reads a catalog's members from its image and adds, removes or resets member zones (RFC 9432 §5). */
  private async applyCatalog(spec: SecondaryZone, zone: BuiltZone): Promise<void> {
    const mapped = mapFile(zone.imagePath);
    if (mapped.kind === 'error') {
      this.log.error(`catalog ${spec.name}: cannot read its image: ${mapped.error.describe()}; its member list stays as it was`);
      return;
    }
    let outcome;
    try {
      outcome = catalogMembers(new ZoneImage(mapped.mapping.bytes));
    } finally {
      mapped.mapping.unmap();
    }
    if (outcome.kind === 'error') {
      this.log.error(`catalog ${spec.name} (serial ${zone.serial}): ${outcome.why}`);
      return;
    }
    for (const w of outcome.warnings) this.log.warn(`catalog ${spec.name}: ${w}`);
    const before = this.catalogs.get(spec.name) ?? null;
    const changes = catalogChanges(before, outcome.members, {
      catalog: spec.name,
      ownerOf: (name) => {
        const key = catalogNameKey(name);
        if (this.config.zones.some((z) => catalogNameKey(z.name) === key)) return { kind: 'configured' };
        const m = this.members.get(key);
        return m === undefined ? null : { kind: 'catalog', catalog: m.catalog, member: m.entry };
      },
    });
    this.catalogs.set(spec.name, outcome.members);
    for (const c of changes.clashes) this.log.warn(`catalog ${spec.name}: ${c.why}`);
    const drop = (m: CatalogMember, why: string): void => {
      const key = catalogNameKey(m.zone);
      const had = this.members.get(key);
      if (had === undefined) return;
      this.clock.remove(had.spec.name);
      this.served.delete(had.spec.name);
      this.members.delete(key);
      this.unwritten.delete(had.spec.name.toLowerCase());
      removeSecondaryFiles(this.config.stateDir, had.spec.name);
      this.log.info(`catalog ${spec.name}: zone ${had.spec.name} ${why}`);
    };
    for (const m of changes.removed) drop(m, 'removed (RFC 9432 §5.3): no longer served');
    for (const m of changes.reset) drop(m, `reset: its unique id is now ${m.id} (RFC 9432 §5.4); its data is transferred anew`);
    for (const mig of changes.migrated) if (mig.resetState) drop(mig.member, `migrates from catalog ${mig.from} with a new unique id; its data is transferred anew`);
    const adds = [...changes.added, ...changes.reset, ...changes.migrated.map((g) => g.member)];
    const specs = adds.map((m) => ({ m, spec: memberSpec(spec, m) }));
    // A member added at start may have data kept from before the restart.
    const kept = await this.buildKept(specs.map((s) => s.spec));
    for (const { m, spec: ms } of specs) {
      const key = catalogNameKey(m.zone);
      const was = this.members.get(key);
      if (was !== undefined) this.clock.remove(was.spec.name);
      this.members.set(key, { spec: ms, catalog: spec.name, entry: m });
      this.addZone(ms, kept.get(ms.name) ?? null);
      this.log.info(`catalog ${spec.name}: zone ${ms.name} added (member ${m.id})`);
    }
    for (const m of changes.regrouped) {
      const had = this.members.get(catalogNameKey(m.zone));
      if (had !== undefined) had.entry = m;
    }
    if (adds.length > 0 || changes.removed.length > 0) this.publish();
  }

  /** The SOA query of a refresh, signed with the primary's key when it has one. */
  private async querySoa(origin: string, address: string, port: number, keyName: string | null): Promise<SoaCheck> {
    const key = keyName === null ? null : (this.keyring.named(keyName) ?? null);
    if (keyName !== null && key === null) return { kind: 'error', why: `key ${keyName} is not among the keys` };
    const r = await querySoa({ origin, remote: { address, port }, key, timeoutMs: SOA_TIMEOUT_MS });
    return r.kind === 'ok' ? { kind: 'ok', serial: r.serial } : { kind: 'error', why: r.why };
  }
}

/** A member zone's settings: the catalog's primaries and ACLs (as Knot's catalog template and BIND's catalog-zones default them), the member's name. */
function memberSpec(catalog: SecondaryZone, m: CatalogMember): SecondaryZone {
  return { name: m.zone, type: 'secondary', primaries: catalog.primaries, notify: [], allowTransfer: catalog.allowTransfer, allowNotify: catalog.allowNotify };
}
