// An intrusive doubly linked list: nodes carry their own prev/next, so joining, leaving and
// moving to the tail are a few pointer writes and allocate nothing. TCP connections ordered by
// last activity (the least recently active at the head: the maxConnections eviction and idle
// expiry read from there; much cheaper than delete + re-insert in a Map on every packet), UDP
// flows the same way, a connection's holders of kept bytes (kept-bytes.ts), and the memory
// budget's accounts per size class (memory/budget.ts).

export interface ActivityNode<T> {
  prev: T | null;
  next: T | null;
}

export class ActivityList<T extends ActivityNode<T>> {
  head: T | null = null;
  private tail: T | null = null;

  append(node: T): void {
    node.prev = this.tail;
    node.next = null;
    if (this.tail !== null) this.tail.next = node;
    else this.head = node;
    this.tail = node;
  }

  remove(node: T): void {
    if (node.prev !== null) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next !== null) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = null;
    node.next = null;
  }

  /** Whether `node` is in this list (a node is in one list of its kind at most). */
  has(node: T): boolean {
    return node.prev !== null || this.head === node;
  }

  /** Unlinks every node: none keeps a reference to another. */
  clear(): void {
    for (let node = this.head; node !== null; ) {
      const next = node.next;
      node.prev = null;
      node.next = null;
      node = next;
    }
    this.head = null;
    this.tail = null;
  }

  /** Mark `node` (already in the list) as the most recently active. */
  touch(node: T): void {
    if (this.tail === node) return;
    this.remove(node);
    this.append(node);
  }
}
