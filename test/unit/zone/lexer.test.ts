/** Lexer: entries, tokens and their positions (RFC 1035 §5.1). */

import { expect } from 'chai';
import { Entry, Lexer } from '../../../src/zone/parse/lexer.js';

interface Lexed {
  tokens: string[];
  blank: boolean;
  broken: boolean;
}

/** Each entry as its tokens (quoted ones shown in quotes, with line:col), and the errors. */
function lex(text: string): { entries: Lexed[]; errors: string[] } {
  const errors: string[] = [];
  const lx = new Lexer(text, (l, c, m) => errors.push(`${l}:${c}: ${m}`));
  const e = new Entry();
  const entries: Lexed[] = [];
  while (lx.next(e)) {
    const tokens: string[] = [];
    for (let k = 0; k < e.count; k++) tokens.push(`${e.quoted[k] ? `"${e.texts[k]}"` : e.texts[k]}@${e.lines[k]}:${e.cols[k]}`);
    entries.push({ tokens, blank: e.blankStart, broken: e.broken });
  }
  return { entries, errors };
}

describe('zone lexer', () => {
  const cases: { name: string; text: string; entries: Lexed[]; errors?: string[] }[] = [
    { name: 'one line', text: 'www IN A 192.0.2.1\n', entries: [{ tokens: ['www@1:1', 'IN@1:5', 'A@1:8', '192.0.2.1@1:10'], blank: false, broken: false }] },
    { name: 'owner omitted: the line starts with a blank', text: '\tA 192.0.2.1\n', entries: [{ tokens: ['A@1:2', '192.0.2.1@1:4'], blank: true, broken: false }] },
    { name: 'blank and comment lines are skipped', text: '\n   \n; note\n  ; indented note\nx A 1\n', entries: [{ tokens: ['x@5:1', 'A@5:3', '1@5:5'], blank: false, broken: false }] },
    { name: 'comment after data', text: 'x A 1 ; the rest ( " is ignored\n', entries: [{ tokens: ['x@1:1', 'A@1:3', '1@1:5'], blank: false, broken: false }] },
    { name: 'no final newline', text: 'x A 1', entries: [{ tokens: ['x@1:1', 'A@1:3', '1@1:5'], blank: false, broken: false }] },
    { name: 'CRLF line ends', text: 'x A 1\r\ny A 2\r\n', entries: [{ tokens: ['x@1:1', 'A@1:3', '1@1:5'], blank: false, broken: false }, { tokens: ['y@2:1', 'A@2:3', '2@2:5'], blank: false, broken: false }] },
    {
      name: 'parentheses join lines, comments inside them',
      text: 'x SOA ( a ; one\n  b\n)\ny A 1\n',
      entries: [
        { tokens: ['x@1:1', 'SOA@1:3', 'a@1:9', 'b@2:3'], blank: false, broken: false },
        { tokens: ['y@4:1', 'A@4:3', '1@4:5'], blank: false, broken: false },
      ],
    },
    { name: 'nested parentheses', text: 'x TXT ( "a" ( "b" ) )\n', entries: [{ tokens: ['x@1:1', 'TXT@1:3', '"a"@1:9', '"b"@1:15'], blank: false, broken: false }] },
    { name: 'parentheses separate tokens', text: 'x (A)1\n', entries: [{ tokens: ['x@1:1', 'A@1:4', '1@1:6'], blank: false, broken: false }] },
    { name: 'quoted strings keep blanks and escapes', text: 'x TXT "a b" "c\\"d" ";(x)"\n', entries: [{ tokens: ['x@1:1', 'TXT@1:3', '"a b"@1:7', '"c\\"d"@1:13', '";(x)"@1:20'], blank: false, broken: false }] },
    { name: 'a quote starts a new token', text: 'x TXT a"b c"d\n', entries: [{ tokens: ['x@1:1', 'TXT@1:3', 'a@1:7', '"b c"@1:8', 'd@1:13'], blank: false, broken: false }] },
    { name: 'escaped blank, semicolon and parenthesis stay in the token', text: 'a\\ b\\;c\\(d IN A 1\n', entries: [{ tokens: ['a\\ b\\;c\\(d@1:1', 'IN@1:12', 'A@1:15', '1@1:17'], blank: false, broken: false }] },
    { name: 'empty quoted string', text: 'x TXT ""\n', entries: [{ tokens: ['x@1:1', 'TXT@1:3', '""@1:7'], blank: false, broken: false }] },
    {
      name: 'unbalanced ")" is an error; the entry is dropped',
      text: 'x TXT ) a\ny A 1\n',
      entries: [
        { tokens: ['x@1:1', 'TXT@1:3', 'a@1:9'], blank: false, broken: true },
        { tokens: ['y@2:1', 'A@2:3', '1@2:5'], blank: false, broken: false },
      ],
      errors: ['1:7: unbalanced parentheses: ")" without "("'],
    },
    {
      name: 'unterminated string ends at its line; reading resumes',
      text: 'x TXT "open\ny A 1\n',
      entries: [
        { tokens: ['x@1:1', 'TXT@1:3'], blank: false, broken: true },
        { tokens: ['y@2:1', 'A@2:3', '1@2:5'], blank: false, broken: false },
      ],
      errors: ['1:7: unbalanced quotes: string is not closed on its line'],
    },
    { name: '"(" never closed: reported where it opens', text: 'x TXT ( a\ny A 1\n', entries: [], errors: ['1:7: unbalanced parentheses: "(" is never closed'] },
    { name: 'backslash at the end of a line', text: 'x TXT a\\\ny A 1\n', entries: [{ tokens: ['x@1:1', 'TXT@1:3', 'a\\@1:7'], blank: false, broken: true }, { tokens: ['y@2:1', 'A@2:3', '1@2:5'], blank: false, broken: false }], errors: ['1:8: backslash at the end of a line escapes nothing'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = lex(c.text);
      expect(r.entries).to.deep.equal(c.entries);
      expect(r.errors).to.deep.equal(c.errors ?? []);
    });
  }
});
