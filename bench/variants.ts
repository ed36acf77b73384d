/** shardns variants measured side by side in one load test (`--variants mmsg,dgram,mmsg-nocache`): name → serve flags. */

/** One way of running shardns: its name in the report and the flags it adds to `shardns serve`. */
export interface ShardnsVariant {
  /** `default`, `mmsg`, `dgram`, `mmsg-nocache`, `dgram-cache5000`, … */
  name: string;
  args: string[];
}

/** shardns as it ships: no flags added (the report calls it plain "shardns"). */
export const DEFAULT_VARIANT = 'default';

/** The I/O engines (`--io`); `default` leaves the engine to shardns. */
const ENGINES = ['default', 'mmsg', 'dgram', 'thread'] as const;

/**
 * A variant from its name: an engine (`default`, `mmsg`, `dgram`, `thread`), optionally
 * followed by `-nocache` (`--answer-cache 0`) or `-cacheN` (`--answer-cache N`).
 */
export function parseVariant(name: string): ShardnsVariant | null {
  const m = /^([a-z]+)(?:-(nocache|cache(\d+)))?$/.exec(name);
  if (!m || !(ENGINES as readonly string[]).includes(m[1]!)) return null;
  const args: string[] = [];
  if (m[1] !== 'default') args.push('--io', m[1]!);
  if (m[2] === 'nocache') args.push('--answer-cache', '0');
  else if (m[3] !== undefined) {
    const n = Number(m[3]);
    if (!Number.isSafeInteger(n) || n > 10_000_000) return null;
    args.push('--answer-cache', String(n));
  }
  return { name, args };
}

/** How the report names shardns run as `variant`: plain `shardns` for the shipped settings. */
export function shardnsLabel(variant: string | undefined): string {
  return variant === undefined || variant === DEFAULT_VARIANT ? 'shardns' : `shardns ${variant}`;
}
