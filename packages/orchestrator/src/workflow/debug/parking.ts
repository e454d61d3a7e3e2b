import type { DebugHost } from './host.js';

/**
 * Tasks parked by a waitpoint or a held failure: neither queued nor holding a slot. Unparking queues a task again
 * (once: a task that is not parked stays as it is).
 */
export class Parking {
  private readonly parked = new Set<number>();

  constructor(
    private readonly host: DebugHost,
    private readonly onPark: (i: number) => void,
  ) {}

  park(i: number): void {
    this.parked.add(i);
    this.host.park(i);
    this.onPark(i);
  }

  unpark(i: number): void {
    if (this.parked.delete(i)) this.host.requeue(i);
  }
}
