import { type FSWatcher, watch } from "node:fs";
import { CONFIG_FILE } from "./agent-config.js";

/**
 * Calls `onChange` after the config file changes, once per burst of events: editors and the
 * agent's own write-then-rename produce several. The folder is watched, not the file, because a
 * rename replaces the file a watch would be attached to.
 */
export function watchConfig(dataDir: string, onChange: () => void, debounceMs = 250): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dataDir, (_event, filename) => {
      if (filename !== null && filename !== CONFIG_FILE) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    // A watch error (the folder removed) must not crash the agent; changes then need a restart.
    watcher.on("error", () => watcher?.close());
  } catch {
    watcher = undefined;
  }
  return {
    close: () => {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
