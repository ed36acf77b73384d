/** Jazzer.js entry of the forwarded fuzz target (fuzz/targets.ts). */
import { fuzzEntry } from './entry.js';

/** Called by Jazzer.js with each input. */
export const fuzz = await fuzzEntry('forwarded');
