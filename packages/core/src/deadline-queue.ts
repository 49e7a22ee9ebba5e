/**
 * One timer for every context's deadline, as Go's runtime keeps one heap of timers per P instead
 * of an OS timer per `time.AfterFunc`: contexts waiting for their deadline sit in a binary min-heap
 * ordered by deadline, and a single unref'd Node timer is armed for the earliest. Adding and
 * removing a context is a few comparisons and no allocation, where a `setTimeout` per request
 * allocates a Timeout, links it into Node's lists and (for `unref`) touches the loop's handle
 * count, and `clearTimeout` undoes it all (issue 19).
 *
 * Resolution: the Node timer's, 1 ms. A deadline fires as late as a `setTimeout` of its own
 * would, never earlier: an entry whose deadline Node's loop clock reached before `Date.now()` did
 * is re-armed for what is left. A wheel with coarse ticks (Netty's HashedWheelTimer, 100 ms by
 * default) would trade that for O(1) inserts; at the fan-out of one process (thousands of
 * contexts in flight) a heap's O(log n) is a handful of comparisons, and request deadlines arrive
 * almost in order (now + the same budget), so most inserts are appended without a swap and the
 * shared timer is re-armed only when a deadline earlier than every other one arrives.
 *
 * The queue is process-wide by nature (it is the process's clock for deadlines, as Node's own
 * timer lists are), owned by this module; nothing in it is borrowed for the length of a call.
 */
import { als } from './storage.js';

/** What the queue times: a context with a deadline of its own. */
export interface Timed {
  readonly deadline: number | undefined;
  /** Position in the heap; -1 when not queued. Owned by the queue. */
  _heapIndex: number;
  /** Called once, from the shared timer, when the deadline has passed (already dequeued). */
  _deadlinePassed(): void;
}

class DeadlineQueue {
  readonly #heap: Timed[] = [];
  #timer: NodeJS.Timeout | undefined = undefined;
  /** Epoch ms the shared timer is armed for; Infinity when it is not armed. */
  #armedAt = Number.POSITIVE_INFINITY;
  readonly #fire = (): void => this.#run();

  get size(): number {
    return this.#heap.length;
  }

  add(t: Timed, now: number): void {
    const heap = this.#heap;
    const i = heap.length;
    heap.push(t);
    t._heapIndex = i;
    this.#up(i);
    const d = t.deadline!;
    if (d < this.#armedAt) this.#arm(d, now);
  }

  remove(t: Timed): void {
    const i = t._heapIndex;
    if (i < 0) return;
    t._heapIndex = -1;
    const heap = this.#heap;
    const last = heap.pop()!;
    if (last === t) return;
    heap[i] = last;
    last._heapIndex = i;
    // The moved entry goes up or down, never both. The shared timer stays armed for the removed
    // deadline: it fires once to no effect, cheaper than re-arming on every removal of the earliest.
    if (i > 0 && last.deadline! < heap[(i - 1) >> 1]!.deadline!) this.#up(i);
    else this.#down(i);
  }

  #arm(deadline: number, now: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = deadline;
    // Armed outside any request's context: the timer would otherwise keep the context of the
    // request that happened to arm it (and everything it holds) alive until it fires.
    const timer = als.exit(setTimeout, this.#fire, Math.max(deadline - now, 1)) as NodeJS.Timeout;
    timer.unref();
    this.#timer = timer;
  }

  #run(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const heap = this.#heap;
    const now = Date.now();
    while (heap.length !== 0) {
      const first = heap[0]!;
      if (first.deadline! > now) {
        this.#arm(first.deadline!, now);
        return;
      }
      this.remove(first);
      first._deadlinePassed();
    }
  }

  #up(i: number): void {
    const heap = this.#heap;
    const t = heap[i]!;
    const d = t.deadline!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (parent.deadline! <= d) break;
      heap[i] = parent;
      parent._heapIndex = i;
      i = p;
    }
    heap[i] = t;
    t._heapIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const t = heap[i]!;
    const d = t.deadline!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && heap[c + 1]!.deadline! < heap[c]!.deadline!) c++;
      const child = heap[c]!;
      if (child.deadline! >= d) break;
      heap[i] = child;
      child._heapIndex = i;
      i = c;
    }
    heap[i] = t;
    t._heapIndex = i;
  }
}

/** The process's deadline queue (see the file comment). @internal */
export const deadlines: DeadlineQueue = new DeadlineQueue();
