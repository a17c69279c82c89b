import { chmod, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { StorageGrant } from "../../shared/storage/agent-storage-protocol.js";
import { type AgentLog, errorMessage } from "../agent-log.js";
import type { Clock } from "../clock.js";
import type { Mount } from "../container-runtime.js";
import { ControlPlaneError } from "../control-plane-client.js";
import { CheckpointSync } from "./checkpoint-sync.js";
import { fileMatchesCid } from "./content-id.js";
import type { InputCache } from "./input-cache.js";
import { type OutputFolder, uploadOutputs } from "./output-upload.js";
import type { StorageApi } from "./storage-api.js";
import { download, TransferError } from "./transfer.js";

/** Whose failure a storage step's is: `input` is the user's data (the job fails), `runtime` the node's. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly kind: "input" | "runtime",
  ) {
    super(message);
    this.name = "StorageError";
  }
}

export interface AttemptStorageOptions {
  api: StorageApi;
  /** This attempt's own folder on the host (outputs, checkpoint, uncached inputs). */
  workDir: string;
  cache: InputCache;
  clock: Clock;
  log: AgentLog;
  /** A line for the job's own log (download, restore and upload progress). */
  progress: (line: string) => void;
  describe: string;
}

export interface PreparedStorage {
  env: Record<string, string>;
  mounts: Mount[];
}

/**
 * An attempt's data: before the container starts, the secret env, the inputs (verified, cached,
 * mounted read-only) and the restored checkpoint; while it runs, checkpoint syncs every interval;
 * after it exits, a last sync and the outputs' upload.
 */
export class AttemptStorage {
  private grant: StorageGrant | undefined;
  private sync: CheckpointSync | undefined;
  private outputs: OutputFolder[] = [];
  private readonly releases: (() => void)[] = [];
  private cancelTimer: () => void = () => {};
  private stopped = false;

  constructor(private readonly options: AttemptStorageOptions) {}

  async prepare(): Promise<PreparedStorage> {
    const { api, workDir, progress } = this.options;
    let grant: StorageGrant;
    try {
      grant = await api.grant();
    } catch (error) {
      // The control plane refused (a secret deleted since submit, an input it cannot find): the user's.
      const kind = error instanceof ControlPlaneError && error.status === 422 ? "input" : "runtime";
      throw new StorageError(`could not prepare the job's data: ${errorMessage(error)}`, kind);
    }
    this.grant = grant;
    await mkdir(workDir, { recursive: true });
    const mounts: Mount[] = [];
    for (const [index, input] of grant.inputs.entries()) {
      mounts.push({ source: await this.fetchInput(input, index), target: input.to, readOnly: true });
    }
    for (const [index, output] of grant.outputs.entries()) {
      const hostDir = join(workDir, "outputs", String(index));
      await writableDir(hostDir);
      this.outputs.push({ hostDir, containerPath: output.path, ipfs: output.ipfs });
      mounts.push({ source: hostDir, target: output.path, readOnly: false });
    }
    const env: Record<string, string> = { ...grant.env };
    if (grant.checkpoint) {
      const hostDir = join(workDir, "checkpoint");
      await writableDir(hostDir);
      this.sync = new CheckpointSync(api, hostDir, this.options.log);
      const restore = grant.checkpoint.restore;
      if (restore) {
        try {
          const bytes = await this.sync.restore(restore.files);
          progress(
            `[meridian] restored checkpoint ${restore.seq} (${restore.files.length} files, ${bytes} bytes)\n`,
          );
        } catch (error) {
          throw new StorageError(
            `could not restore checkpoint ${restore.seq}: ${errorMessage(error)}`,
            "runtime",
          );
        }
        env.MERIDIAN_RESUMED = "1";
        env.MERIDIAN_CHECKPOINT_SEQ = String(restore.seq);
      } else {
        env.MERIDIAN_RESUMED = "0";
      }
      mounts.push({ source: hostDir, target: grant.checkpoint.path, readOnly: false });
    }
    return { env, mounts };
  }

  /** Syncs the checkpoint folder every interval while the container runs. */
  startSync(): void {
    const checkpoint = this.grant?.checkpoint;
    if (!checkpoint || !this.sync || this.stopped) return;
    const every = checkpoint.intervalSeconds * 1000;
    const tick = (): void => {
      if (this.stopped) return;
      void this.syncNow("periodic").finally(() => {
        if (!this.stopped) this.cancelTimer = this.options.clock.setTimer(tick, every);
      });
    };
    this.cancelTimer = this.options.clock.setTimer(tick, every);
  }

  /**
   * After the container exited: a last checkpoint sync, then the outputs. Resolves with what went
   * wrong, if anything (the exit report carries it), never throws.
   */
  async finish(): Promise<string | undefined> {
    this.cancelTimer();
    if (this.stopped) return undefined;
    const problems: string[] = [];
    if (this.sync) {
      const error = await this.syncNow("final");
      if (error) problems.push(`checkpoint not synced: ${error}`);
    }
    if (this.outputs.length > 0) {
      try {
        const summary = await uploadOutputs(
          this.options.api,
          this.outputs,
          this.options.log,
          this.options.progress,
        );
        this.options.log.info(
          `${this.options.describe}: uploaded ${summary.files} output file(s), ${summary.bytes} bytes`,
        );
      } catch (error) {
        problems.push(`outputs not uploaded: ${errorMessage(error)}`);
      }
    }
    return problems.length > 0 ? problems.join("; ") : undefined;
  }

  /** The attempt is no longer ours: no more syncs, nothing uploaded. */
  stop(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  /** Lets the cached inputs go and removes the attempt's folder. */
  async cleanup(): Promise<void> {
    this.stop();
    for (const release of this.releases.splice(0)) release();
    await rm(this.options.workDir, { recursive: true, force: true }).catch(() => {});
  }

  private async syncNow(which: string): Promise<string | undefined> {
    if (!this.sync) return undefined;
    try {
      const result = await this.sync.sync();
      if (result.seq !== undefined) {
        this.options.log.info(
          `${this.options.describe}: ${which} checkpoint ${result.seq} committed (${result.files} files, ${result.uploadedBlobs} new blobs, ${result.uploadedBytes} bytes sent)`,
        );
      }
      return undefined;
    } catch (error) {
      this.options.log.warn(
        `${this.options.describe}: ${which} checkpoint sync failed: ${errorMessage(error)}`,
      );
      return errorMessage(error);
    }
  }

  private async fetchInput(input: StorageGrant["inputs"][number], index: number): Promise<string> {
    const { cache, workDir, progress } = this.options;
    const fill = async (path: string): Promise<void> => {
      let got: { sha256: string; size: number };
      try {
        got = await download(input.url, path, input.from);
      } catch (error) {
        const kind = error instanceof TransferError && error.final ? "input" : "runtime";
        throw new StorageError(`input ${input.from} could not be fetched: ${errorMessage(error)}`, kind);
      }
      if (input.sha256 && got.sha256 !== input.sha256) {
        throw new StorageError(
          `input ${input.from} failed verification: SHA-256 mismatch (expected ${input.sha256}, got ${got.sha256})`,
          "input",
        );
      }
      if (input.cid && !(await fileMatchesCid(path, input.cid))) {
        throw new StorageError(
          `input ${input.from} failed verification: its bytes do not have CID ${input.cid}`,
          "input",
        );
      }
      progress(`[meridian] fetched input ${input.from} (${got.size} bytes, verified)\n`);
    };
    const key = input.sha256 ? `sha256:${input.sha256}` : input.cid ? `cid:${input.cid}` : undefined;
    if (key === undefined) {
      // Without a hash or CID nothing says two downloads are the same bytes: not cached.
      const path = join(workDir, "inputs", String(index));
      await mkdir(join(workDir, "inputs"), { recursive: true });
      await fill(path);
      return path;
    }
    const cached = await cache.get(key, fill);
    this.releases.push(cached.release);
    if (cached.hit) progress(`[meridian] input ${input.from}: cache hit on this node\n`);
    return cached.path;
  }
}

/** A folder the container's user (whoever the image runs as) may write. */
async function writableDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, 0o777);
}
