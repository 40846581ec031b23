import { describe, expect, it } from 'vitest';
import { chainDag, diamondDag, fanDag, randomDag, seededRandom, skewedDag, type TimedDag } from './random-dag.js';
import { criticalPathOrder, makespanLowerBound, nxReadyOrder, simulateMakespan } from './simulate.js';

function makespans(graph: TimedDag, parallel: number): { stride: number; nx: number; bound: number } {
  const duration = (id: string): number => graph.durationMs[id] ?? 0;
  return {
    stride: simulateMakespan(graph.dag, duration, parallel, criticalPathOrder(graph.dag, duration)),
    // Nx gets the same knowledge: its task history holds the true durations.
    nx: simulateMakespan(graph.dag, duration, parallel, nxReadyOrder(graph.dag, duration)),
    bound: makespanLowerBound(graph.dag, duration, parallel),
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

describe('critical-path scheduling, simulated', () => {
  it('beats Nx 24\'s ready-task order on 1,000 seeded random DAGs', () => {
    const random = seededRandom(20261124);
    const ratios: number[] = [];
    let strideTotal = 0;
    let nxTotal = 0;
    for (let i = 0; i < 1000; i++) {
      const graph = randomDag(random);
      const parallel = [2, 4, 8, 16][Math.floor(random() * 4)] as number;
      const { stride, nx } = makespans(graph, parallel);
      strideTotal += stride;
      nxTotal += nx;
      ratios.push(stride / nx);
    }
    ratios.sort((a, b) => a - b);
    const report = {
      meanMakespanRatio: +(strideTotal / nxTotal).toFixed(4),
      ratio: { min: quantile(ratios, 0), p10: quantile(ratios, 0.1), median: quantile(ratios, 0.5), p90: quantile(ratios, 0.9), max: quantile(ratios, 1) },
      worseThanNx: ratios.filter((r) => r > 1).length,
      betterThanNx: ratios.filter((r) => r < 1).length,
    };
    console.log(`[scheduler simulation] Stride / Nx makespan over 1000 random DAGs: ${JSON.stringify(report)}`);
    expect(strideTotal).toBeLessThan(nxTotal);
    expect(report.betterThanNx).toBeGreaterThan(report.worseThanNx);
  });

  it('comes within 5% of the lower bound on the skewed graph, where Nx does not', () => {
    const { stride, nx, bound } = makespans(skewedDag(), 2);
    console.log(`[scheduler simulation] skewed graph, parallel 2: Stride ${stride} ms, Nx ${nx} ms, bound ${bound} ms`);
    expect(stride / bound).toBeLessThanOrEqual(1.05);
    expect(nx / bound).toBeGreaterThan(1.05);
  });

  it('reports the ratio to the lower bound for chain, fan and diamond shapes', () => {
    const shapes: Record<string, TimedDag> = { chain: chainDag(), fan: fanDag(), diamond: diamondDag(), skewed: skewedDag() };
    const rows: string[] = [];
    for (const [name, graph] of Object.entries(shapes)) {
      for (const parallel of [2, 4]) {
        const { stride, nx, bound } = makespans(graph, parallel);
        rows.push(`${name} p${parallel}: stride/bound ${(stride / bound).toFixed(3)}, nx/bound ${(nx / bound).toFixed(3)}`);
        expect(stride).toBeGreaterThanOrEqual(bound);
        expect(stride).toBeLessThanOrEqual(nx);
      }
    }
    console.log(`[scheduler simulation] ${rows.join('; ')}`);
  });
});
