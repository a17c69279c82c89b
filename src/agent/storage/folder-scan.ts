import { lstat, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";

export interface ScannedFile {
  /** Relative to the folder, with / separators. */
  path: string;
  absolute: string;
  size: number;
  mtimeMs: number;
  mode: number;
}

/**
 * The regular files under a folder, sorted. Symbolic links are skipped, not followed: a job
 * must not make the agent read (and upload) a file outside its own folders.
 */
export async function scanFolder(root: string): Promise<{ files: ScannedFile[]; skipped: string[] }> {
  const files: ScannedFile[] = [];
  const skipped: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const absolute = join(dir, name);
      const info = await lstat(absolute);
      const path = relative(root, absolute).split(sep).join("/");
      if (info.isDirectory()) await walk(absolute);
      else if (info.isFile())
        files.push({ path, absolute, size: info.size, mtimeMs: info.mtimeMs, mode: info.mode & 0o7777 });
      else skipped.push(path);
    }
  };
  await walk(root);
  return { files, skipped };
}
