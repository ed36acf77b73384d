/** Reading the hosts files and watching them: an edit (in place, or a new file renamed over the old one) reloads the table, no signal needed. */

import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { HostsTable, type HostsSource } from './hosts.js';

/** What the watcher tells its owner. */
export type HostsEvent =
  | { kind: 'loaded'; table: HostsTable; reason: 'start' | 'changed' }
  /** A file cannot be read (it is still watched, and read when it appears), or a line was skipped. */
  | { kind: 'problem'; message: string };

/** Edits arrive as several events (truncate, write, rename): they are read once, this long after the last. */
const SETTLE_MS = 150;

/** A running watcher. */
export interface HostsWatch {
  /** The table as last read. */
  readonly table: HostsTable;
  close(): void;
}

/**
 * Reads `files` now and again whenever one changes. Each file's folder is
 * watched (inotify), not the file itself, so an editor that writes a new
 * file and renames it over the old one is seen too. `optional` files (the
 * default /etc/hosts) may be absent without a word.
 */
export function watchHosts(files: readonly string[], optional: ReadonlySet<string>, tell: (e: HostsEvent) => void): HostsWatch {
  const told = new Set<string>();
  const load = (): HostsTable => {
    const sources: HostsSource[] = [];
    for (const path of files) {
      try {
        sources.push({ path, text: readFileSync(path, 'utf8') });
        told.delete(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        // Told once per outage, not on every event in the folder.
        if (!optional.has(path) && !told.has(path)) tell({ kind: 'problem', message: `hosts file ${path}: cannot read it (${code}); its names are not answered until it can be read (it is watched) — check the path given to --hosts and that shardns's user may read it` });
        told.add(path);
      }
    }
    const table = new HostsTable(sources);
    for (const p of table.problems.slice(0, 10)) tell({ kind: 'problem', message: `hosts file ${p}` });
    if (table.problems.length > 10) tell({ kind: 'problem', message: `hosts files: ${table.problems.length - 10} more lines skipped` });
    return table;
  };
  const state = { table: load() };
  tell({ kind: 'loaded', table: state.table, reason: 'start' });

  let timer: NodeJS.Timeout | null = null;
  const changed = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      state.table = load();
      tell({ kind: 'loaded', table: state.table, reason: 'changed' });
    }, SETTLE_MS);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  const byFolder = new Map<string, Set<string>>();
  for (const f of files) {
    const names = byFolder.get(dirname(f)) ?? new Set<string>();
    names.add(basename(f));
    byFolder.set(dirname(f), names);
  }
  for (const [folder, names] of byFolder) {
    try {
      const w = watch(folder, { persistent: false }, (_event, name) => {
        // Some platforms give no name: then any event in the folder counts.
        if (name === null || names.has(name.toString())) changed();
      });
      w.on('error', (err) => tell({ kind: 'problem', message: `hosts files in ${folder}: watching stopped (${err.message}); edits are no longer seen until a restart` }));
      watchers.push(w);
    } catch (err) {
      tell({ kind: 'problem', message: `hosts files in ${folder}: cannot watch the folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); edits are not seen until a restart` });
    }
  }
  return {
    get table() {
      return state.table;
    },
    close() {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
