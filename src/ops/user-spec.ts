/** The form `--user` takes, `NAME` or `NAME:GROUP` (numeric ids allowed): parsed without touching the system, so config validation stays pure. */

/** `NAME`, `NAME:GROUP`; names as useradd allows them (a trailing `$` for machine accounts), or numeric ids. */
const USER_SPEC = /^([A-Za-z0-9_.][A-Za-z0-9_.-]*\$?)(?::([A-Za-z0-9_.][A-Za-z0-9_.-]*))?$/;

/** A `--user` value split into its parts, or null when it is not well formed. */
export function parseUserSpec(spec: string): { user: string; group: string | null } | null {
  const m = USER_SPEC.exec(spec);
  return m === null ? null : { user: m[1]!, group: m[2] ?? null };
}

/** Whether `--user` is well formed: a problem to show, or null. */
export function userSpecProblem(spec: string): string | null {
  return parseUserSpec(spec) !== null ? null : `must be NAME or NAME:GROUP (a user and group of this system, or numeric ids), got ${JSON.stringify(spec)}`;
}
