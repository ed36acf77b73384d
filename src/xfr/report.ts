/** How `shardns check` and the logs describe a zone's source and transfer settings: one line per zone. Pure. */

import type { Remote, ZoneSpec } from '../config.js';
import type { SecondaryState } from './secondary-files.js';
import { describeEntry } from './acl.js';

/** `192.0.2.1`, `[2001:db8::1]:5300 key xfr-key.` */
export function describeRemote(r: Remote): string {
  const where = r.port === 53 ? r.address : `${r.address.includes(':') ? `[${r.address}]` : r.address}:${r.port}`;
  return r.key === null ? where : `${where} key ${r.key}`;
}

/**
 * What `check` says of one zone: its serial and where it comes from (the
 * zone file, or its primaries), then whom it notifies and who may transfer
 * it. `serial`: what the zone file holds (null for a secondary: it is
 * known once transferred). `where`: how the zone file is shown.
 */
export function zoneLine(zone: ZoneSpec, serial: number | null, records: number | null, where: (file: string) => string): string {
  const source =
    zone.type === 'primary'
      ? `primary, serial ${serial ?? '?'}${records === null ? '' : `, ${records} records`}, from file ${where(zone.file)}`
      : `secondary, transferred from ${zone.primaries.map(describeRemote).join(', ')}`;
  const parts = [`zone ${zone.name}: ${source}`];
  if (zone.notify.length > 0) parts.push(`notifies ${zone.notify.map(describeRemote).join(', ')}`);
  parts.push(zone.allowTransfer.length > 0 ? `transfers allowed to ${zone.allowTransfer.map(describeEntry).join(', ')}` : 'transfers refused');
  if (zone.type === 'secondary') parts.push(zone.allowNotify.length > 0 ? `NOTIFY accepted from ${zone.allowNotify.map(describeEntry).join(', ')}` : 'NOTIFY refused');
  return parts.join('; ');
}

/**
 * What `check` says of a secondary zone's kept data: the serial it holds
 * and its last transfer (when, which, from where, how it ended), as the
 * state directory records them.
 */
export function transferLine(state: SecondaryState): string {
  const held = state.serial === null ? 'no data transferred yet' : `holds serial ${state.serial}`;
  const last = state.last;
  if (last === null) return `${held}; no transfer recorded in the state directory`;
  return `${held}; last ${last.kind}${last.from ? ` from ${last.from}` : ''} at ${last.at}: ${last.outcome}${last.detail ? ` (${last.detail})` : ''}`;
}
