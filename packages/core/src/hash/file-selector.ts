import picomatch from 'picomatch';

/**
 * A set of workspace files, as Nx file sets describe them: a file is selected
 * when it matches any include pattern and no exclude pattern.
 */
export interface FileSelector {
  include: string[];
  exclude: string[];
}

/**
 * Selects files out of a sorted list. Each pattern's static base (the part
 * before its first glob character) narrows the search to a contiguous range of
 * the sorted list, so a project's file set never scans the whole workspace.
 */
export class FileIndex {
  private readonly matchers = new Map<string, (path: string) => boolean>();

  constructor(readonly files: readonly string[]) {}

  select(selector: FileSelector): string[] {
    const excluded = selector.exclude.map((pattern) => this.matcher(pattern));
    const selected = new Set<string>();
    for (const pattern of selector.include) {
      const { base, isGlob } = picomatch.scan(pattern);
      if (!isGlob) {
        // A plain path names a file or a whole folder.
        for (const file of this.range(pattern)) {
          if (file === pattern || file.startsWith(`${pattern}/`)) selected.add(file);
        }
        continue;
      }
      const matches = this.matcher(pattern);
      for (const file of this.range(base)) if (matches(file)) selected.add(file);
    }
    return [...selected].filter((file) => !excluded.some((matches) => matches(file))).sort();
  }

  /** Files under `prefix` (a folder path, '' for all), found by binary search. */
  private *range(prefix: string): Generator<string> {
    const files = this.files;
    let low = 0;
    let high = files.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((files[mid] as string) < prefix) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i < files.length; i++) {
      const file = files[i] as string;
      if (!file.startsWith(prefix)) break;
      yield file;
    }
  }

  private matcher(pattern: string): (path: string) => boolean {
    let matches = this.matchers.get(pattern);
    if (!matches) {
      matches = picomatch(pattern, { dot: true });
      this.matchers.set(pattern, matches);
    }
    return matches;
  }
}
