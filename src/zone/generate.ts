/** BIND's $GENERATE directive: the iteration range and the `$` templates of owner and RDATA. */

/** `start-stop[/step]`: values start, start+step, … up to stop. */
export interface GenerateRange {
  readonly start: number;
  readonly stop: number;
  readonly step: number;
}

const MAX_VALUE = 0x7fffffff;

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

/**
 * Expands a template for one value. `$` is the value; `${offset,width,base}`
 * adds offset and pads to width with base d, o, x, X, n or N (n/N: nibbles,
 * least significant first, dot-separated, for ip6.arpa names); `$$` and `\$`
 * are a literal `$`. A backslash keeps its escape for the later reading of the
 * text (so `\$` stays `\$`, which a name or string then reads as `$`).
 */
export function expandTemplate(template: string, value: number): string | TemplateError {
  let out = '';
  const n = template.length;
  for (let i = 0; i < n; i++) {
    const c = template[i]!;
    if (c === '\\') {
      out += c;
      if (i + 1 < n) out += template[++i];
      continue;
    }
    if (c !== '$') {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '\\$';
      i++;
      continue;
    }
    if (template[i + 1] !== '{') {
      out += String(value);
      continue;
    }
    const close = template.indexOf('}', i + 2);
    if (close < 0) return new TemplateError(`unterminated \${ in "${template}"`);
    const m = /^(-?[0-9]+)(?:,([0-9]+)(?:,([doxXnN]))?)?$/.exec(template.slice(i + 2, close));
    if (m === null) return new TemplateError(`bad modifier "${template.slice(i, close + 1)}": use \${offset[,width[,base]]} with base d, o, x, X, n or N`);
    const v = value + Number(m[1]);
    if (v > MAX_VALUE || v < -MAX_VALUE - 1) return new TemplateError(`value ${value}${m[1]!.startsWith('-') ? '' : '+'}${m[1]} is out of range`);
    out += format(v, m[2] === undefined ? 0 : Number(m[2]), (m[3] ?? 'd') as Base);
    i = close;
  }
  return out;
}

type Base = 'd' | 'o' | 'x' | 'X' | 'n' | 'N';

function format(v: number, width: number, base: Base): string {
  if (base === 'n' || base === 'N') return nibbles(v >>> 0, width, base === 'N');
  if (base === 'd') return v < 0 ? '-' + String(-v).padStart(Math.max(0, width - 1), '0') : String(v).padStart(width, '0');
  const u = v >>> 0;
  const s = base === 'o' ? u.toString(8) : base === 'x' ? u.toString(16) : u.toString(16).toUpperCase();
  return s.padStart(width, '0');
}

/** Nibble form: hex digits from the least significant, each followed by a dot while more are due; width counts characters. */
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
