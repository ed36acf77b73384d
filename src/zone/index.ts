/** The zone package's public surface: load, inspect and print zones. */

// Loading: from the file system, or through an injected reader (pure).
export { loadZoneFile } from './parse/load.js';
export { parseZone, parseZoneText, type ParseZoneOptions, type ReadFile } from './parse/parser.js';
// Outcomes and their diagnostics (`file:line:column: message`).
export { formatDiagnostic, type Diagnostic, type Severity, DEFAULT_MAX_ERRORS } from './parse/diagnostics.js';
// The loaded zone: dns-packet answers grouped by owner, RRsets adjacent.
export { rrsets, zoneRecords, recordTypeCode, type Zone, type ZoneRecord, type RecordData, type ZoneLoadResult } from './parse/zone.js';
// The exact wire form of names and RDATA (what a compiler of zone images writes).
export { nameKey, nameToWire, presentName } from './names.js';
export { recordRdata } from './rdata/rdata.js';
// Canonical text, comparable with `named-checkzone -D`.
export { printZone, printRecord } from './parse/print.js';
