/** The program's name and version, read once from package.json. */

import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The version in package.json, e.g. `0.1.0`. */
export const VERSION: string = pkg.version;
