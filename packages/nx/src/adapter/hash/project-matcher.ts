import type { ProjectGraph } from '@nx/devkit';
import picomatch from 'picomatch';

const LABELS = new Set(['name', 'tag', 'directory', 'unlabeled']);

/**
 * The projects a `{ input, projects }` input selects, as Nx 24's hasher reads
 * the list: a project name, `tag:<tag>`, `directory:<glob>`, `name:<glob>`, a
 * glob over names or, when no name matches, over project roots; `!` before
 * any of them removes what it matches from what the patterns before it
 * selected. A pattern that matches nothing selects nothing (Nx does not fail).
 */
export function matchProjects(patterns: readonly string[], graph: ProjectGraph): string[] {
  const nodes = graph.nodes;
  const names = Object.keys(nodes);
  const selected = new Set<string>();
  for (const raw of patterns) {
    if (!raw) continue;
    const exclude = raw.startsWith('!');
    const pattern = exclude ? raw.slice(1) : raw;
    const apply = (found: Iterable<string>): number => {
      let count = 0;
      for (const name of found) {
        count++;
        if (exclude) selected.delete(name);
        else selected.add(name);
      }
      return count;
    };
    const colon = pattern.indexOf(':');
    const label = !nodes[pattern] && colon > 0 && LABELS.has(pattern.slice(0, colon)) ? pattern.slice(0, colon) : 'unlabeled';
    const value = label === 'unlabeled' ? pattern : pattern.slice(colon + 1);
    const byName = (): string[] => {
      if (nodes[value]) return [value];
      if (!picomatch.scan(value).isGlob) return [];
      const matches = picomatch(value, { dot: true });
      return names.filter((name) => matches(name));
    };
    const byDirectory = (): string[] => {
      const matches = picomatch(value, { dot: true });
      return names.filter((name) => matches(nodes[name]?.data.root ?? ''));
    };
    if (label === 'tag') {
      const matches = picomatch(value, { dot: true });
      apply(names.filter((name) => (nodes[name]?.data.tags ?? []).some((tag) => tag === value || matches(tag))));
    } else if (label === 'name') {
      apply(byName());
    } else if (label === 'directory') {
      apply(byDirectory());
    } else if (apply(byName()) === 0) {
      apply(byDirectory());
    }
  }
  return [...selected].sort();
}
