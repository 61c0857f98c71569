import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A pool's directory is `snakepit-rx-<pid of the pool's process>-<6 random characters>`. */
const PREFIX = 'snakepit-rx-';
const DIRECTORY_PATTERN = /^snakepit-rx-(\d+)-[A-Za-z0-9]{6}$/;
/**
 * sun_path holds 108 bytes on Linux and 104 on macOS and the BSDs, the
 * terminating NUL included; a longer path cannot be bound at all.
 */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;
/** Room for a socket's name in the directory: `/worker-<id>.sock` with ids up to a million workers. */
const SOCKET_NAME_ROOM = '/worker-1000000.sock'.length;

/**
 * The private directory where a pool's local workers listen on Unix sockets:
 * mode 0700 (mkdtemp's), so that only this user (and root) can reach them;
 * named after the pool's process, so that a later pool can tell a dead
 * pool's directory from a live one's and remove only the former.
 */
export class SocketDirectory {
  private removed = false;

  private constructor(readonly path: string) {}

  /** Removes directories left by pools whose process is gone, then makes this pool's. */
  static create(base = socketBase()): SocketDirectory {
    sweepStaleDirectories(base);
    return new SocketDirectory(mkdtempSync(join(base, `${PREFIX}${process.pid}-`)));
  }

  /** Where the worker `workerId` listens; throws if the path is too long to bind. */
  socketPath(workerId: string): string {
    const path = join(this.path, `${workerId}.sock`);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`the socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
    }
    return path;
  }

  /** Removes the directory and whatever is left in it; safe to call twice. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    rmSync(this.path, { recursive: true, force: true });
  }
}

/**
 * The temporary directory, unless its path leaves too little room for a
 * socket's (macOS's per-user `$TMPDIR` is about 50 bytes long; a deep
 * `$TMPDIR` can be longer than a socket path may be), then `/tmp`.
 */
export function socketBase(temporary = tmpdir()): string {
  const longest = Buffer.byteLength(join(temporary, `${PREFIX}${'9'.repeat(10)}-XXXXXX`)) + SOCKET_NAME_ROOM;
  return longest <= MAX_SOCKET_PATH_BYTES ? temporary : '/tmp';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, and belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the directories in `base` that a pool of this user left when its
 * process died (its workers died with it, and remove the directory once the
 * last of them ends, unless one was killed too abruptly). A directory is
 * removed only if it is this user's, a real directory, and the process named
 * in it is gone: never a live pool's, in this process or another. A dead
 * pool's pid taken by a new process keeps its directory until that process
 * ends too.
 */
export function sweepStaleDirectories(base: string): string[] {
  const swept: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(base);
  } catch {
    return swept;
  }
  for (const entry of entries) {
    const match = DIRECTORY_PATTERN.exec(entry);
    if (match === null || isAlive(Number(match[1]))) continue;
    const path = join(base, entry);
    try {
      const stats = lstatSync(path);
      if (!stats.isDirectory() || stats.uid !== process.getuid?.()) continue;
      rmSync(path, { recursive: true, force: true });
      swept.push(path);
    } catch {
      // Gone already (another pool swept it), or not ours to remove.
    }
  }
  return swept;
}
