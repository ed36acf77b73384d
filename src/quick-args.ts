/** The plain command lines of `serve` and `ctl`, read without yargs (whose ~50 modules cost each start and each `shardns ctl` ~70 ms of CPU); anything not plain is left to yargs, which reads it or says what is wrong. */

import { parseArgs } from 'node:util';
import type { Setting } from './config.js';
import { CONTROL_COMMANDS } from './ops/control.js';

/** `ctl`'s own flags besides the settings, as src/cli.ts declares them to yargs (a unit test compares the two readings). */
const CTL_FLAGS = { json: 'boolean', rebuild: 'boolean', timeout: 'string' } as const;

/**
 * A command line read here: `serve` (named or implied) or `ctl <command>
 * [zone]` with the values yargs would give the handlers (each setting's
 * flag as its key: one string, or a list for the repeatable ones), or
 * `yargs`: not plain, let yargs read it.
 */
export type QuickArgs =
  | { kind: 'serve'; args: Record<string, unknown> }
  | { kind: 'ctl'; args: Record<string, unknown> & { command: (typeof CONTROL_COMMANDS)[number]; name?: string } }
  | { kind: 'yargs' };

const YARGS: QuickArgs = { kind: 'yargs' };

/**
 * Reads `argv` when it is plain: `serve` or `ctl`, every flag known and
 * spelled as declared (no camelCase, no `--no-`), a value for each (never
 * empty, never one that starts with `-`), a value within the setting's
 * choices, a flag that is not a list given once, no `--help` or
 * `--version`, no `--`, and positionals only where the command takes them
 * (ctl's command and zone, before any flag, so a list flag's second value
 * is never mistaken for the zone). Everything else, `check` and `probe`
 * too, is `yargs`.
 */
export function quickArgs(argv: readonly string[], settings: readonly Setting[], listKinds: ReadonlySet<string>): QuickArgs {
  const first = argv[0];
  const command = first === undefined || first.startsWith('-') ? 'serve' : first;
  if (command !== 'serve' && command !== 'ctl') return YARGS;
  const rest = first === command ? argv.slice(1) : [...argv];
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { config: { type: 'string' } };
  for (const s of settings) options[s.flag] = { type: 'string', multiple: listKinds.has(s.kind) };
  if (command === 'ctl') for (const [flag, type] of Object.entries(CTL_FLAGS)) options[flag] = { type };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true, tokens: true });
  } catch {
    return YARGS; // unknown flag, missing or ambiguous value: yargs says which
  }
  const tokens = parsed.tokens ?? [];
  if (tokens.some((t) => t.kind === 'option-terminator')) return YARGS;
  const seen = new Set<string>();
  let optionSeen = false;
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') {
      if (optionSeen) return YARGS;
      positionals.push(t.value);
      continue;
    }
    if (t.kind !== 'option') continue;
    optionSeen = true;
    const spec = options[t.name];
    if (spec === undefined) return YARGS;
    if (!spec.multiple && seen.has(t.name)) return YARGS; // yargs makes a list of a repeated flag
    seen.add(t.name);
    if (spec.type === 'string' && (t.value === undefined || t.value === '' || t.value.startsWith('-'))) return YARGS;
    const choices = settings.find((s) => s.flag === t.name)?.choices;
    if (choices !== undefined && !choices.includes(t.value ?? '')) return YARGS;
  }
  const args: Record<string, unknown> = { ...parsed.values };
  if (command === 'serve') return positionals.length === 0 ? { kind: 'serve', args } : YARGS;
  const [verb, zone, ...more] = positionals;
  if (verb === undefined || more.length > 0 || !(CONTROL_COMMANDS as readonly string[]).includes(verb)) return YARGS;
  return { kind: 'ctl', args: { ...args, command: verb as (typeof CONTROL_COMMANDS)[number], ...(zone !== undefined ? { name: zone } : {}) } };
}
