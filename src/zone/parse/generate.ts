/** BIND's $GENERATE directive: the iteration range and the `$` templates of owner and RDATA. */

/** `start-stop[/step]`: values start, start+step, … up to stop. */
export interface GenerateRange {
  readonly start: number;
  readonly stop: number;
  readonly step: number;
}

const MAX_VALUE = 0x7fffffff;
const MIN_VALUE = -0x80000000;
/** BIND formats one substitution into 128 octets with room for a NUL: longer ones are refused. */
const MAX_SUBSTITUTION = 127;

/** Reads a range; null when malformed, decreasing, beyond 2^31-1 or with a zero step (BIND refuses these). */
export function parseRange(text: string): GenerateRange | null {
  const m = /^([0-9]+)-([0-9]+)(?:\/([0-9]+))?$/.exec(text);
  if (m === null) return null;
  const start = Number(m[1]);
  const stop = Number(m[2]);
  const step = m[3] === undefined ? 1 : Number(m[3]);
  if (start > MAX_VALUE || stop > MAX_VALUE || start > stop || step < 1 || step > MAX_VALUE) return null;
  return { start, stop, step };
}

/** Number of values a range produces. */
export function rangeCount(r: GenerateRange): number {
  return Math.floor((r.stop - r.start) / r.step) + 1;
}

/** Why a template cannot be expanded. */
export class TemplateError {
  constructor(readonly message: string) {}
}

type Base = 'd' | 'o' | 'x' | 'X' | 'n' | 'N';

/** One `$` or `${offset[,width[,base]]}` of a template, already read. */
interface Modifier {
  readonly offset: number;
  readonly width: number;
  readonly base: Base;
  /** Characters of the template it takes, `$` included. */
  readonly length: number;
}

/**
 * `{offset}`, `{offset,width}` or `{offset,width,base}` right after a `$`:
 * offset a signed decimal (`+` allowed), width unsigned, base d, o, x, X, n
 * or N; blanks may precede the numbers. These are the forms BIND's
 * documentation gives for $GENERATE and the ones named-checkzone accepts.
 */
const BRACES = /^\{[ \t]*([+-]?[0-9]+)(?:,[ \t]*(\+?[0-9]+)(?:,([doxXnN]))?)?\}/;

/** Reads the modifier starting at the `$` at index i. */
function readModifier(template: string, i: number): Modifier | TemplateError {
  if (template.charCodeAt(i + 1) !== 0x7b /* { */) return { offset: 0, width: 0, base: 'd', length: 1 };
  const m = BRACES.exec(template.slice(i + 1));
  if (m === null) {
    const close = template.indexOf('}', i);
    const shown = close < 0 ? template.slice(i) : template.slice(i, close + 1);
    return new TemplateError(`bad $GENERATE modifier "${shown}": use \${offset}, \${offset,width} or \${offset,width,base} with base d, o, x, X, n or N`);
  }
  const offset = Number(m[1]);
  if (offset > MAX_VALUE || offset < MIN_VALUE) return new TemplateError(`$GENERATE offset ${m[1]} is out of range (${MIN_VALUE}..${MAX_VALUE})`);
  return { offset, width: m[2] === undefined ? 0 : Number(m[2]), base: (m[3] ?? 'd') as Base, length: 1 + m[0].length };
}

/**
 * Expands a template for one value, as BIND does: `$` is the value in
 * decimal; `${offset,width,base}` adds offset (which may be negative) and
 * pads to width with zeros in base d, o, x or X, or writes nibbles (n, N:
 * hex digits from the least significant, dot-separated, for ip6.arpa
 * names; width counts characters, dots included); `$$` is a literal `$`. A
 * backslash keeps itself and the next character for the later reading of
 * the text (so `\$` reads as `$` in a name or string).
 */
export function expandTemplate(template: string, value: number): string | TemplateError {
  let out = '';
  const n = template.length;
  for (let i = 0; i < n; i++) {
    const c = template[i]!;
    if (c === '\\') {
      out += template.slice(i, i + 2);
      i++;
      continue;
    }
    if (c !== '$') {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    const mod = readModifier(template, i);
    if (mod instanceof TemplateError) return mod;
    const text = substitute(template.slice(i, i + mod.length), mod, value);
    if (text instanceof TemplateError) return text;
    out += text;
    i += mod.length - 1;
  }
  return out;
}

/** The text one modifier stands for at `value`. */
function substitute(written: string, mod: Modifier, value: number): string | TemplateError {
  const v = value + mod.offset;
  if (v > MAX_VALUE) return new TemplateError(`$GENERATE "${written}" at ${value} gives ${v}, above ${MAX_VALUE}: lower the offset or the range`);
  // Refused before padding: a width of billions would not fit a string (padStart throws, nibbles would fill the memory).
  if (mod.width > MAX_SUBSTITUTION) return new TemplateError(`$GENERATE "${written}" makes ${mod.width} characters, BIND allows at most ${MAX_SUBSTITUTION}: use a smaller width`);
  const text = format(v, mod.width, mod.base);
  if (text.length > MAX_SUBSTITUTION) return new TemplateError(`$GENERATE "${written}" makes ${text.length} characters, BIND allows at most ${MAX_SUBSTITUTION}: use a smaller width`);
  return text;
}

/** C's printf `%0*d`, `%0*o`, `%0*x`, `%0*X` (the last three of the value as unsigned 32 bits), or nibbles. */
function format(v: number, width: number, base: Base): string {
  if (base === 'n' || base === 'N') return nibbles(v >>> 0, width, base === 'N');
  if (base === 'd') return v < 0 ? '-' + String(-v).padStart(Math.max(0, width - 1), '0') : String(v).padStart(width, '0');
  const u = v >>> 0;
  const s = base === 'o' ? u.toString(8) : base === 'x' ? u.toString(16) : u.toString(16).toUpperCase();
  return s.padStart(width, '0');
}

/**
 * Nibble form: hex digits from the least significant, each followed by a
 * dot while digits or width remain; width counts characters, so an even
 * width can end in a dot (`${0,4,n}` of 1 is `1.0.`), as in BIND.
 */
function nibbles(v: number, width: number, upper: boolean): string {
  let out = '';
  for (;;) {
    const d = (v & 0xf).toString(16);
    out += upper ? d.toUpperCase() : d;
    v = v >>> 4;
    if (v === 0 && out.length >= width) break;
    out += '.';
    if (v === 0 && out.length >= width) break;
  }
  return out;
}
