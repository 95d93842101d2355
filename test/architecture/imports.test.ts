// Proves imports between src/ folders run one way: no cycle (even one hidden
// behind a dynamic import), and src/db and src/engine import nothing above
// them. The fixture tree breaks both rules, so the checks are shown to fail.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cyclicEdges, describeEdges, importEdges, layerViolations } from './importGraph.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('import graph of src/', () => {
  it('has no cycle between folders', () => {
    expect(describeEdges(cyclicEdges(importEdges(path.join(root, 'src'))))).toEqual([]);
  });

  it('keeps src/db and src/engine at the bottom', () => {
    expect(describeEdges(layerViolations(importEdges(path.join(root, 'src'))))).toEqual([]);
  });

  it('lists the offending edges of a tree that breaks both rules', () => {
    const edges = importEdges(path.join(import.meta.dirname, 'fixtures/cyclic/src'));
    expect(describeEdges(cyclicEdges(edges))).toEqual([
      'payments -> reservations (payments/reconcile.ts:4)',
      'reservations -> payments (reservations/index.ts:1)',
    ]);
    expect(describeEdges(layerViolations(edges))).toEqual(['db -> engine (db/pool.ts:2)']);
  });
});
