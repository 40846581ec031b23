// The nx.json plugin entry "@stride/nx/infer" (see src/infer/index.ts).
export * from './dist/infer/index.js';
