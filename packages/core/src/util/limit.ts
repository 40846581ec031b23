/**
 * Runs at most `concurrency` of the given jobs at once. One small limiter is
 * shared by file hashing, uploads and the like, instead of one per caller.
 */
export function createLimit(concurrency: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  // A FIFO with a moving head: Array#shift is O(n), and hashing queues one job per workspace file.
  let waiting: Array<() => void> = [];
  let head = 0;
  const next = (): void => {
    active--;
    const wake = waiting[head];
    if (!wake) return;
    waiting[head++] = undefined as unknown as () => void;
    if (head > 1024 && head * 2 > waiting.length) {
      waiting = waiting.slice(head);
      head = 0;
    }
    wake();
  };
  return async <T>(job: () => Promise<T>): Promise<T> => {
    if (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await job();
    } finally {
      next();
    }
  };
}
