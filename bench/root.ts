/** The repository root, for the benchmark's files (this runs as dist/bench/root.js). */

import { fileURLToPath } from 'node:url';

/** The repository root, with a trailing slash. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
