/**
 * `@stride/nx/infer`: the nx.json plugin entry that stands in for an inferring
 * plugin (`@nx/jest/plugin`, `@nx/vite/plugin`, ...) and runs the targets it
 * infers on Stride. `init --wrap` writes it; `init --remove` puts the plugin's
 * own entry back.
 */
import type { CreateNodes } from '@nx/devkit';
import { createWrappedNodes, type InferOptions } from './wrap-plugin.js';

export const name = '@stride/nx/infer';
export type { InferOptions } from './wrap-plugin.js';

const nodes: CreateNodes<InferOptions> = ['**/*', createWrappedNodes];
/** Nx 24 reads `createNodes`; Nx 23 prefers `createNodesV2`: the same pair under both names. */
export const createNodes = nodes;
export const createNodesV2 = nodes;
