/**
 * Local workers listen on Unix sockets in a private directory of their pool
 * (lib/worker/socket-directory.ts), not on TCP ports: the directory's
 * permissions, its removal on close and after the pool's process is killed,
 * the sweep of directories dead pools left, and TCP still selectable.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createPool } from '../lib/index.js';
import { MAX_SOCKET_PATH_BYTES, socketBase, SocketDirectory, sweepStaleDirectories } from '../lib/worker/socket-directory.js';
import { FIXTURES, isAlive, nextEvent, rejectionOf, waitUntil, withPool } from './support/pools.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const linux = process.platform === 'linux';

/** The socket a worker serves on, from the command line of its serving process (`--socket PATH`). */
function socketOf(pid: number): string {
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const index = args.indexOf('--socket');
  if (index < 0) throw new Error(`worker ${pid} has no --socket: ${args.join(' ')}`);
  return args[index + 1]!;
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The inodes of the TCP sockets listening on this machine (/proc/net/tcp and tcp6, state 0A). */
function listeningTcpInodes(): Set<string> {
  return new Set(
    ['/proc/net/tcp', '/proc/net/tcp6']
      .flatMap((table) => readFileSync(table, 'utf8').split('\n').slice(1))
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === '0A')
      .map((fields) => fields[9]!),
  );
}

/** The inodes of the sockets a process holds open. */
function socketInodes(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      return match ? [match[1]!] : [];
    } catch {
      return [];
    }
  });
}

/** A pid that belonged to a process that has exited: the owner of a stale directory. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await once(child, 'exit');
  expect(isAlive(child.pid!)).toBe(false);
  return child.pid!;
}

describe.runIf(process.platform !== 'win32')('local workers on Unix sockets', () => {
  it('listen by default in a directory only this user can enter, and open no TCP port', async () => {
    await withPool({ size: 2 }, async (pool) => {
      const pids = await Promise.all([pool.execute<{ pid: number }>('whoami'), pool.execute<{ pid: number }>('whoami')]);
      const sockets = pids.map(({ pid }) => socketOf(pid));
      const directory = join(sockets[0]!, '..');
      expect(join(sockets[1]!, '..')).toBe(directory);
      expect(directory.startsWith(join(socketBase(), `snakepit-rx-${process.pid}-`))).toBe(true);
      const stats = statSync(directory);
      expect(stats.mode & 0o777).toBe(0o700);
      expect(stats.uid).toBe(process.getuid!());
      for (const socket of sockets) {
        const socketStats = statSync(socket);
        expect(socketStats.isSocket()).toBe(true);
        expect(socketStats.mode & 0o777).toBe(0o600);
        expect(Buffer.byteLength(socket)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
      }
      if (linux) {
        const listening = listeningTcpInodes();
        for (const { pid } of pids) expect(socketInodes(pid).filter((inode) => listening.has(inode))).toEqual([]);
      }
    });
  });

  it('leave no directory once the pool is closed, nor when it fails to start', async () => {
    let directory = '';
    await withPool({ size: 1 }, async (pool) => {
      directory = join(socketOf((await pool.execute<{ pid: number }>('whoami')).pid), '..');
      expect(existsSync(directory)).toBe(true);
    });
    expect(existsSync(directory)).toBe(false);

    const before = readdirSync(socketBase()).filter((entry) => entry.startsWith(`snakepit-rx-${process.pid}-`));
    const failure = await rejectionOf(createPool({ adapter: 'broken_adapter.Adapter', size: 1, pythonPath: FIXTURES }));
    expect(failure.code).toBe('worker_start_failed');
    expect(readdirSync(socketBase()).filter((entry) => entry.startsWith(`snakepit-rx-${process.pid}-`))).toEqual(before);
  });

  it("remove a killed worker's socket, and its replacement listens on a socket of its own", async () => {
    await withPool({ size: 1, healthCheckInterval: 0 }, async (pool) => {
      const { pid } = await pool.execute<{ pid: number }>('whoami');
      const socket = socketOf(pid);
      const restarted = nextEvent(pool, 'worker_restarted');
      process.kill(pid, 'SIGKILL');
      await restarted;
      const replacement = socketOf((await pool.execute<{ pid: number }>('whoami')).pid);
      expect(replacement).not.toBe(socket);
      expect(join(replacement, '..')).toBe(join(socket, '..'));
      await waitUntil(() => !existsSync(socket), 3_000, "the killed worker's socket to be removed");
    });
  });

  it.runIf(linux)('leave no directory when the pool’s process is killed (its workers remove it)', async () => {
    const owner = spawn(process.execPath, ['--import', 'tsx', 'spec/fixtures/pool-owner.ts', '2'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let processes: number[] = [];
    try {
      const [line] = (await once(createInterface({ input: owner.stdout }), 'line')) as [string];
      const { workers } = JSON.parse(line) as { workers: number[] };
      // Each worker's supervisor removes its socket once the worker is gone, and the last one the directory.
      processes = [...workers, ...workers.map(parentOf)];
      const directory = join(socketOf(workers[0]!), '..');
      expect(existsSync(directory)).toBe(true);
      owner.kill('SIGKILL');
      await once(owner, 'exit');
      await waitUntil(() => !processes.some(isAlive), 5_000, 'the workers and their supervisors to exit');
      expect(existsSync(directory) ? readdirSync(directory) : 'removed').toBe('removed');
    } finally {
      owner.kill('SIGKILL');
      for (const pid of processes) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('sweep, as a pool starts, the directories of pools whose process is gone, and only those', async () => {
    const base = socketBase();
    const dead = await deadPid();
    const stale = join(base, `snakepit-rx-${dead}-Stale1`);
    const live = join(base, `snakepit-rx-${process.pid}-Alive1`);
    const unlike = join(base, `snakepit-rx-${dead}-not-a-pool`);
    const someoneElses = join(base, `snakepit-rx-${dead}-Other1`);
    const target = join(base, `snakepit-spec-target-${dead}`);
    const link = join(base, `snakepit-rx-${dead}-Link01`);
    for (const directory of [stale, live, unlike, someoneElses, target]) {
      mkdirSync(directory, { mode: 0o700 });
      writeFileSync(join(directory, 'worker-1.sock'), '');
    }
    symlinkSync(target, link);
    // Only root can give a directory away; as anyone else there is no other user's directory to make.
    const asRoot = process.getuid!() === 0;
    if (asRoot) chownSync(someoneElses, 65534, 65534);
    try {
      await withPool({ size: 1 }, async (pool) => {
        await pool.execute('whoami');
        expect(existsSync(stale)).toBe(false);
        expect(existsSync(live)).toBe(true);
        expect(existsSync(unlike)).toBe(true);
        expect(existsSync(someoneElses)).toBe(asRoot);
        expect(lstatSync(link).isSymbolicLink()).toBe(true);
        expect(existsSync(join(target, 'worker-1.sock'))).toBe(true);
      });
    } finally {
      for (const path of [stale, live, unlike, someoneElses, target, link]) rmSync(path, { recursive: true, force: true });
    }
  });

  it('stays selectable as TCP on loopback', async () => {
    const before = readdirSync(socketBase()).filter((entry) => entry.startsWith(`snakepit-rx-${process.pid}-`));
    await withPool({ size: 1, transport: 'tcp' }, async (pool) => {
      const { pid } = await pool.execute<{ pid: number }>('whoami');
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).not.toContain('--socket');
      await expect(pool.execute('add', { a: 2, b: 3 })).resolves.toBe(5);
      expect(readdirSync(socketBase()).filter((entry) => entry.startsWith(`snakepit-rx-${process.pid}-`))).toEqual(before);
      if (linux) {
        const listening = listeningTcpInodes();
        expect(socketInodes(pid).some((inode) => listening.has(inode))).toBe(true);
      }
    });
  });
});

describe('the transport option', () => {
  it('is refused unless unix or tcp, and with endpoints', async () => {
    const refused = (options: object) => rejectionOf(createPool({ adapter: 'test_adapter.TestAdapter', pythonPath: FIXTURES, ...options }));
    expect(await refused({ transport: 'udp' })).toMatchObject({
      code: 'invalid_arguments',
      message: expect.stringContaining("'unix' or 'tcp'"),
    });
    expect(await refused({ transport: 'tcp', endpoints: ['127.0.0.1:1'] })).toMatchObject({
      code: 'invalid_arguments',
      message: expect.stringContaining('`endpoints` and `discover` are reached over TCP'),
    });
  });
});

describe('socket paths', () => {
  it('fall back to /tmp when the temporary directory leaves too little room for a socket', () => {
    expect(socketBase('/var/tmp')).toBe('/var/tmp');
    expect(socketBase(`/${'deep/'.repeat(16)}`)).toBe('/tmp');
  });

  it('are refused when longer than the kernel can bind', () => {
    const directory = SocketDirectory.create();
    try {
      expect(() => directory.socketPath('w'.repeat(MAX_SOCKET_PATH_BYTES))).toThrow(`longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
      expect(directory.socketPath('worker-1')).toBe(join(directory.path, 'worker-1.sock'));
    } finally {
      directory.remove();
    }
    expect(existsSync(directory.path)).toBe(false);
  });

  it('sweeps nothing it cannot read', () => {
    expect(sweepStaleDirectories('/no/such/directory')).toEqual([]);
  });
});
