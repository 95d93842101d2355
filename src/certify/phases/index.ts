// The seven phases of SPEC §4, in order. A phase whose evidence is wholly
// the SimCity catalogue is cataloguePhase(n); phase 1 adds its barrier races.

import type { PhaseContext } from '../context.js';
import type { PhaseId } from '../types.js';
import { runAbuse } from './abuse.js';
import { runAtomicSlot, type PhaseOutcome } from './atomicSlot.js';
import { cataloguePhase } from './catalogue.js';
import { runDegraded } from './degraded.js';
import { runForensicsPhase } from './forensicsPhase.js';
import { runSoak } from './soak.js';
import { runTimeHostility } from './timeHostility.js';

export interface PhaseDefinition {
  id: PhaseId;
  key: string;
  name: string;
  run: (ctx: PhaseContext) => Promise<PhaseOutcome>;
}

export const PHASES: readonly PhaseDefinition[] = [
  { id: 1, key: 'atomic-slot', name: 'Atomic slot', run: runAtomicSlot },
  { id: 2, key: 'payment-booking', name: 'Payment ↔ booking consistency', run: cataloguePhase(2) },
  { id: 3, key: 'time-hostility', name: 'Time hostility', run: runTimeHostility },
  { id: 4, key: 'abuse', name: 'Abuse and probing', run: runAbuse },
  { id: 5, key: 'degraded', name: 'Degraded reality', run: runDegraded },
  { id: 6, key: 'forensics', name: 'Forensics and explainability', run: runForensicsPhase },
  { id: 7, key: 'soak', name: 'Soak and time decay', run: runSoak },
];

export type { PhaseOutcome };
