// Seeded randomness: every choice SimCity makes comes from here, so a seed
// replays the same parameters, fixtures, schedule and faults.

import seedrandom from 'seedrandom';
import type { Range } from './scenarioFile.js';

export interface Random {
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** A real number in [range.min, range.max]. */
  between(range: Range): number;
  pick<T>(items: readonly T[]): T;
  /** A key chosen with probability proportional to its weight. */
  weighted(weights: Record<string, number>): string;
}

export function createRandom(seed: string): Random {
  const generate = seedrandom(seed);
  const next = (): number => generate();
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    between: (range) => range.min + next() * (range.max - range.min),
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
    weighted: (weights) => {
      const entries = Object.entries(weights).filter(([, weight]) => weight > 0);
      const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
      let roll = next() * total;
      for (const [key, weight] of entries) {
        roll -= weight;
        if (roll < 0) return key;
      }
      return entries[entries.length - 1]![0];
    },
  };
}
