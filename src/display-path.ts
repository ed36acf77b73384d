/** How a file's path is shown to people in diagnostics: relative to the working folder when it lies below it. */

import { isAbsolute, relative } from 'node:path';

/** The path as people wrote it, relative to the working folder when it lies below it. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
