/**
 * Capacity of the machine (cpu slots = -j, gpus, memory) handed out so no declared resource is oversubscribed,
 * and the pipeline's pools: at most a pool's depth of its stages hold a slot at once.
 */
import type { PoolRef, Resources } from '../pipeline/types.js';

interface Waiter {
  need: Resources;
  grant: () => void;
}

export class ResourcePool {
  private free: Resources;
  private readonly queue: Waiter[] = [];

  /** `pools`: the pipeline's pools, shared by the resource pools of every runner of the run */
  constructor(readonly capacity: Resources, private readonly pools = new PipelinePools()) {
    this.free = { ...capacity };
  }

  /** A request larger than the whole machine is clamped to it (the stage then runs alone). */
  clamp(need: Resources): Resources {
    return {
      cpu: Math.max(1, Math.min(need.cpu, this.capacity.cpu)),
      gpu: Math.min(need.gpu, this.capacity.gpu),
      mem: Math.min(need.mem, this.capacity.mem),
    };
  }

  /**
   * A stage in a pool first waits for one of the pool's slots, then for the machine: waiting for the pool
   * holds no cpu slot that another stage could use meanwhile.
   */
  async acquire(request: Resources, pool?: PoolRef): Promise<() => void> {
    const releasePool = pool ? await this.pools.slotsOf(pool).take() : () => {};
    const releaseResources = await this.acquireResources(request);
    return () => {
      releaseResources();
      releasePool();
    };
  }

  private async acquireResources(request: Resources): Promise<() => void> {
    const need = this.clamp(request);
    if (this.queue.length === 0 && this.fits(need)) this.take(need);
    else await new Promise<void>((grant) => this.queue.push({ need, grant }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.free = { cpu: this.free.cpu + need.cpu, gpu: this.free.gpu + need.gpu, mem: this.free.mem + need.mem };
      this.grantWaiting();
    };
  }

  /** First come, first served: the head of the queue waits for room, so big stages are not starved. */
  private grantWaiting(): void {
    while (this.queue.length && this.fits(this.queue[0]!.need)) {
      const waiter = this.queue.shift()!;
      this.take(waiter.need);
      waiter.grant();
    }
  }

  private fits(need: Resources): boolean {
    return need.cpu <= this.free.cpu && need.gpu <= this.free.gpu && need.mem <= this.free.mem;
  }

  private take(need: Resources): void {
    this.free = { cpu: this.free.cpu - need.cpu, gpu: this.free.gpu - need.gpu, mem: this.free.mem - need.mem };
  }
}

/** The pipeline's named pools: at most a pool's depth of its stages at once, whichever runner runs them. */
export class PipelinePools {
  private readonly pools = new Map<string, Slots>();

  slotsOf(pool: PoolRef): Slots {
    let slots = this.pools.get(pool.name);
    if (!slots) this.pools.set(pool.name, (slots = new Slots(pool.depth)));
    return slots;
  }
}

/** A counting semaphore, first come first served. */
class Slots {
  private readonly waiting: (() => void)[] = [];

  constructor(private free: number) {}

  async take(): Promise<() => void> {
    if (this.free > 0 && this.waiting.length === 0) this.free--;
    else await new Promise<void>((grant) => this.waiting.push(grant));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
