/** Lexer for RFC 1035 §5.1 master files: splits the text into entries of tokens with positions. */

/**
 * The tokens of one entry: one line, or several joined by parentheses
 * (RFC 1035 §5.1). Arrays are reused from entry to entry to keep the hot
 * path free of allocation; only the first `count` slots are meaningful.
 *
 * Token text is raw: escapes (`\.`, `\DDD`, `\"`) are kept as written, since
 * their meaning depends on the field (a `\.` is a dot inside a label in a
 * name but a plain dot in a string). Quoted tokens lose their quotes.
 */
export class Entry {
  count = 0;
  readonly texts: string[] = [];
  readonly quoted: boolean[] = [];
  readonly lines: number[] = [];
  readonly cols: number[] = [];
  /** The entry's first line began with a blank: the owner is omitted (RFC 1035 §5.1). */
  blankStart = false;
  /** A lexical error was reported inside this entry; the parser skips it. */
  broken = false;

  /** Line just after the last token, where a missing field is reported. */
  endLine(): number {
    return this.count === 0 ? 0 : this.lines[this.count - 1]!;
  }

  /** Column just after the last token, where a missing field is reported. */
  endCol(): number {
    if (this.count === 0) return 1;
    const k = this.count - 1;
    return this.cols[k]! + this.texts[k]!.length + (this.quoted[k] ? 2 : 0);
  }
}

/** Receives lexical errors: 1-based line and column, and a message. */
export type LexErrorSink = (line: number, col: number, message: string) => void;

// Character classes; the text is a latin1 string, so every code is a byte.
const PLAIN = 0;
const BLANK = 1; // space, tab, CR
const NEWLINE = 2;
const SPECIAL = 3; // ; ( ) "
const CLASS = new Uint8Array(256);
CLASS[0x20] = BLANK;
CLASS[0x09] = BLANK;
CLASS[0x0d] = BLANK;
CLASS[0x0a] = NEWLINE;
CLASS[0x3b] = SPECIAL;
CLASS[0x28] = SPECIAL;
CLASS[0x29] = SPECIAL;
CLASS[0x22] = SPECIAL;

const BACKSLASH = 0x5c;

/** Splits master-file text into entries; one instance per file. */
export class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  constructor(
    private readonly src: string,
    private readonly onError: LexErrorSink,
  ) {}

  /** Current line number (1-based): after `next()` returns, the line after the entry. */
  get currentLine(): number {
    return this.line;
  }

  /** Where the next entry is read from: always the start of a line. */
  get position(): number {
    return this.pos;
  }

  /**
   * Moves past a line that was read without the lexer (fast-line.ts):
   * `next` is where the following line starts, `newline` whether the line
   * ended with one (the last line of a text may not).
   */
  skipLine(next: number, newline: boolean): void {
    this.pos = next;
    if (newline) this.line++;
    this.lineStart = next;
  }

  /**
   * Reads the next non-empty entry into `out`. Returns false at the end of
   * the text. Comments run from `;` to the end of the line (RFC 1035 §5.1);
   * newlines inside parentheses are blanks.
   */
  next(out: Entry): boolean {
    const s = this.src;
    const n = s.length;
    let i = this.pos;
    let depth = 0;
    let openLine = 0;
    let openCol = 0;
    out.count = 0;
    out.broken = false;
    out.blankStart = i < n && CLASS[s.charCodeAt(i) & 0xff] === BLANK;

    while (i < n) {
      const c = s.charCodeAt(i);
      const k = c < 256 ? CLASS[c]! : PLAIN;
      if (k === BLANK) {
        i++;
        continue;
      }
      if (k === NEWLINE) {
        i++;
        this.line++;
        this.lineStart = i;
        if (depth === 0) {
          if (out.count > 0 || out.broken) {
            this.pos = i;
            return true;
          }
          out.blankStart = i < n && CLASS[s.charCodeAt(i) & 0xff] === BLANK;
        }
        continue;
      }
      if (k === SPECIAL) {
        if (c === 0x3b) {
          // ; comment: skip to the newline, which ends the entry as usual.
          const nl = s.indexOf('\n', i);
          i = nl < 0 ? n : nl;
        } else if (c === 0x28) {
          if (depth === 0) {
            openLine = this.line;
            openCol = i - this.lineStart + 1;
          }
          depth++;
          i++;
        } else if (c === 0x29) {
          if (depth === 0) {
            this.onError(this.line, i - this.lineStart + 1, 'unbalanced parentheses: ")" without "("');
            out.broken = true;
          } else {
            depth--;
          }
          i++;
        } else {
          i = this.quoted(out, i);
          if (i < 0) {
            // Unterminated string: give up on this entry at the newline.
            i = -i;
            depth = 0;
            out.broken = true;
          }
        }
        continue;
      }
      // A plain token: up to a blank, newline or special character.
      const start = i;
      while (i < n) {
        const d = s.charCodeAt(i);
        if (d === BACKSLASH) {
          if (i + 1 >= n || s.charCodeAt(i + 1) === 0x0a) {
            this.onError(this.line, i - this.lineStart + 1, 'backslash at the end of a line escapes nothing');
            out.broken = true;
            i++;
            break;
          }
          i += 2;
          continue;
        }
        if (d < 256 && CLASS[d] !== PLAIN) break;
        i++;
      }
      this.push(out, s.substring(start, i), false, start);
    }

    this.pos = n;
    if (depth > 0) {
      this.onError(openLine, openCol, 'unbalanced parentheses: "(" is never closed');
      return false;
    }
    return out.count > 0 || out.broken;
  }

  /** Reads a quoted string starting at the quote; returns the index after it, or minus the newline index if unterminated. */
  private quoted(out: Entry, q: number): number {
    const s = this.src;
    const n = s.length;
    let i = q + 1;
    while (i < n) {
      const d = s.charCodeAt(i);
      if (d === 0x22) {
        this.push(out, s.substring(q + 1, i), true, q);
        return i + 1;
      }
      if (d === 0x0a) break;
      i += d === BACKSLASH && i + 1 < n && s.charCodeAt(i + 1) !== 0x0a ? 2 : 1;
    }
    this.onError(this.line, q - this.lineStart + 1, 'unbalanced quotes: string is not closed on its line');
    return -i;
  }

  private push(out: Entry, text: string, quoted: boolean, at: number): void {
    const k = out.count++;
    out.texts[k] = text;
    out.quoted[k] = quoted;
    out.lines[k] = this.line;
    out.cols[k] = at - this.lineStart + 1;
  }
}
