import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type FileHasher, StrideError, stableStringify } from '@stride/core';
import { parseJsonc } from './jsonc.js';

/** Nx's root tsconfig: the first of these that exists. */
const ROOT_TSCONFIGS = ['tsconfig.base.json', 'tsconfig.json'];

interface TsconfigJson {
  compilerOptions?: { paths?: Record<string, string[]> } & Record<string, unknown>;
}

/**
 * The root tsconfig as Nx 24 hashes it into every task (`TsConfiguration`):
 * the parsed file without `compilerOptions.paths`, so a new path alias for one
 * library does not re-run the whole workspace, while `target` or `strict` do.
 * With the runner option `selectivelyHashTsConfig`, a task also hashes the
 * `paths` entries that point into its own project (and those of the projects
 * its `^` inputs reach). Read through the file-hash cache: a warm run does not
 * parse it again.
 */
export class RootTsconfig {
  private readonly path: string | undefined;

  constructor(
    private readonly root: string,
    private readonly fileHasher: FileHasher,
    readonly selective: boolean,
  ) {
    this.path = ROOT_TSCONFIGS.find((name) => existsSync(join(root, name)));
  }

  /** The hashed value shared by every task: the file minus `paths` ('' without a root tsconfig). */
  common(): Promise<string> {
    if (!this.path) return Promise.resolve('');
    const path = this.path;
    return this.fileHasher.derive(path, 'tsconfig:common', (bytes) => {
      const parsed = parse(path, bytes);
      const compilerOptions = { ...parsed.compilerOptions };
      delete compilerOptions.paths;
      return stableStringify({ ...parsed, compilerOptions });
    });
  }

  /** With `selectivelyHashTsConfig`: the `paths` entries with a target owned by `project`, as sorted text. */
  async pathsOf(project: string, ownerOf: (file: string) => string | undefined): Promise<string> {
    if (!this.path) return '';
    const path = this.path;
    const all = JSON.parse(await this.fileHasher.derive(path, 'tsconfig:paths', (bytes) => JSON.stringify(parse(path, bytes).compilerOptions?.paths ?? {}))) as Record<
      string,
      string[]
    >;
    return Object.entries(all)
      .map(([alias, files]) => [alias, files.filter((file) => ownerOf(file) === project)] as const)
      .filter(([, files]) => files.length > 0)
      .map(([alias, files]) => `${alias}:${files.join(';')}`)
      .sort()
      .join(';');
  }
}

function parse(path: string, bytes: Buffer): TsconfigJson {
  try {
    const parsed = parseJsonc(bytes.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('it is not a JSON object');
    return parsed as TsconfigJson;
  } catch (error) {
    throw new StrideError(`the root tsconfig ${path} cannot be read: ${(error as Error).message}`, {
      setting: path,
      fix: 'make it valid JSON (comments and trailing commas are allowed), as Nx needs it too',
    });
  }
}
