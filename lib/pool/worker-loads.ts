import type { Worker } from '../worker/worker.js';
import type { PoolMember } from './pool-members.js';

/** What the pool knows of a worker in its care. */
export interface WorkerLoad {
  readonly member: PoolMember;
  readonly startedAt: number;
  /** Calls it was given, ever. */
  calls: number;
  /** Calls it runs now: leased and not released. */
  running: number;
  /** Why it takes no new call: its member left (`drain`), or it is retired once its calls end. */
  closing: 'drain' | 'max_calls' | 'ttl' | undefined;
  /** When it last had room, in grants and releases: of two equally loaded workers, the one with room longest serves. */
  freedAt: number;
  drainTimer: NodeJS.Timeout | undefined;
}

/**
 * The workers the pool runs and how loaded each is: which have room for a
 * call, which one takes the next, and the counts `stats()` reports.
 */
export class WorkerLoads {
  private readonly loads = new Map<Worker, WorkerLoad>();
  private sequence = 0;

  get size(): number {
    return this.loads.size;
  }

  get workers(): Worker[] {
    return [...this.loads.keys()];
  }

  entries(): [Worker, WorkerLoad][] {
    return [...this.loads];
  }

  get(worker: Worker): WorkerLoad | undefined {
    return this.loads.get(worker);
  }

  add(worker: Worker, member: PoolMember): WorkerLoad {
    const load: WorkerLoad = {
      member,
      startedAt: Date.now(),
      calls: 0,
      running: 0,
      closing: undefined,
      freedAt: this.sequence++,
      drainTimer: undefined,
    };
    this.loads.set(worker, load);
    return load;
  }

  delete(worker: Worker): void {
    this.loads.delete(worker);
  }

  /** A call on the worker ended. */
  released(load: WorkerLoad): void {
    load.running -= 1;
    load.freedAt = this.sequence++;
  }

  /** Whether it takes calls: known (a retired worker is forgotten before it exits), not closing, not gone. */
  readonly inService = (worker: Worker): boolean => {
    const load = this.loads.get(worker);
    return load !== undefined && load.closing === undefined && !worker.exited;
  };

  hasRoom(worker: Worker): boolean {
    const load = this.loads.get(worker);
    return load !== undefined && this.inService(worker) && load.running < worker.capacity;
  }

  /** The worker a call takes now: the one it requires or prefers when it has room, else the least loaded. */
  takeRoom(preferred: Worker | undefined, requires: Worker | undefined): Worker | undefined {
    if (requires !== undefined) return this.hasRoom(requires) ? requires : undefined;
    if (preferred !== undefined && this.hasRoom(preferred)) return preferred;
    let chosen: { worker: Worker; load: number; freedAt: number } | undefined;
    for (const [worker, load] of this.loads) {
      if (!this.hasRoom(worker)) continue;
      const share = load.running / worker.capacity;
      if (chosen === undefined || share < chosen.load || (share === chosen.load && load.freedAt < chosen.freedAt)) {
        chosen = { worker, load: share, freedAt: load.freedAt };
      }
    }
    return chosen?.worker;
  }

  /** Calls that could start now: room left on the workers in service. */
  get idle(): number {
    let idle = 0;
    for (const [worker, load] of this.loads) if (this.inService(worker)) idle += Math.max(0, worker.capacity - load.running);
    return idle;
  }

  /** Calls running, on workers in service or closing. */
  get busy(): number {
    let busy = 0;
    for (const load of this.loads.values()) busy += load.running;
    return busy;
  }

  /** Calls the workers in service run at once. */
  get slots(): number {
    let slots = 0;
    for (const worker of this.loads.keys()) if (this.inService(worker)) slots += worker.capacity;
    return slots;
  }

  /** Workers not draining. */
  get notDraining(): number {
    return [...this.loads.values()].filter((load) => load.closing !== 'drain').length;
  }
}
