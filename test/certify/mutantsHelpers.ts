// The mutant runner on the test server: the suite's migrated templates stand
// in for the runner's own (they are the same migrations), never dropped here.

import { inject } from 'vitest';
import type { MutantTemplates } from '../../src/certify/mutants/index.js';

export function testTemplates(): MutantTemplates {
  return {
    adminConnectionString: inject('adminConnectionString'),
    normal: inject('templateNormal'),
    simulation: inject('templateSimulation'),
    drop: async () => undefined,
  };
}
