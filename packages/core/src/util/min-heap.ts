/** A binary min-heap of numbers under a comparator: the simulator's ready and running queues. */
export class MinHeap {
  private readonly items: number[] = [];

  constructor(private readonly less: (a: number, b: number) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): number | undefined {
    return this.items[0];
  }

  push(value: number): void {
    const items = this.items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i] as number, items[parent] as number)) break;
      [items[i], items[parent]] = [items[parent] as number, items[i] as number];
      i = parent;
    }
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      for (let i = 0; ; ) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.less(items[left] as number, items[smallest] as number)) smallest = left;
        if (right < items.length && this.less(items[right] as number, items[smallest] as number)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest] as number, items[i] as number];
        i = smallest;
      }
    }
    return top;
  }
}
