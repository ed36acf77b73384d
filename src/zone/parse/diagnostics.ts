/** Diagnostics of zone loading: where a problem is, what it is, and how to print it. */

/** Whether a diagnostic rejects the zone or only informs. */
export type Severity = 'error' | 'warning';

/**
 * One problem found while loading a zone. `line` and `column` are 1-based and
 * point at the offending token; both are 0 for problems of the whole zone
 * (no SOA record, for example).
 */
export interface Diagnostic {
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** How many errors a load reports before it gives up on the zone. */
export const DEFAULT_MAX_ERRORS = 100;

/**
 * Formats a diagnostic the way compilers do, so editors can jump to it:
 * `zones/example.com.zone:12:9: bad IPv4 address "10.0.0.256"`; warnings say so.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  return d.severity === 'warning' ? `${where}: warning: ${d.message}` : `${where}: ${d.message}`;
}

/** Thrown by a sink when the error limit is reached; the loader catches it and stops. */
export class TooManyErrors extends Error {
  constructor() {
    super('too many errors');
    this.name = 'TooManyErrors';
  }
}

/** How many warnings a load keeps; the rest are counted in one summary line. */
export const DEFAULT_MAX_WARNINGS = 1000;

/** Collects diagnostics of one load and enforces the error limit. */
export class DiagnosticSink {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  private readonly maxErrors: number;
  private readonly maxWarnings: number;
  private droppedWarnings = 0;

  constructor(maxErrors = DEFAULT_MAX_ERRORS, maxWarnings = DEFAULT_MAX_WARNINGS) {
    this.maxErrors = maxErrors;
    this.maxWarnings = maxWarnings;
  }

  /** Records an error; throws TooManyErrors once the limit is passed. */
  error(file: string, line: number, column: number, message: string): void {
    if (this.errors.length >= this.maxErrors) {
      this.errors.push({ severity: 'error', file, line, column, message: `too many errors (more than ${this.maxErrors}); stopped reading` });
      throw new TooManyErrors();
    }
    this.errors.push({ severity: 'error', file, line, column, message });
  }

  /** Records a warning; past the limit, warnings are only counted. */
  warning(file: string, line: number, column: number, message: string): void {
    if (this.warnings.length >= this.maxWarnings) {
      this.droppedWarnings++;
      return;
    }
    this.warnings.push({ severity: 'warning', file, line, column, message });
  }

  /** Adds the summary of dropped warnings, if any; call once at the end of a load. */
  finish(file: string): void {
    if (this.droppedWarnings > 0) {
      this.warnings.push({ severity: 'warning', file, line: 0, column: 0, message: `${this.droppedWarnings} more warnings not shown` });
      this.droppedWarnings = 0;
    }
  }
}
