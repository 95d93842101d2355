// The seven phases of SPEC §4, in order. A phase whose evidence is wholly
// the SimCity catalogue is cataloguePhase(n); phase 1 adds its barrier races.
// Phases 3-7 are their catalogues (SC-3, SC-5, SC-6, SC-7, SC-8): the loops
// they replaced are gone, so there is one way to attack and one to replay.

import type { PhaseContext } from '../context.js';
import type { PhaseId } from '../types.js';
import { runAtomicSlot, type PhaseOutcome } from './atomicSlot.js';
import { cataloguePhase } from './catalogue.js';

export interface PhaseDefinition {
  id: PhaseId;
  key: string;
  name: string;
  run: (ctx: PhaseContext) => Promise<PhaseOutcome>;
}

export const PHASES: readonly PhaseDefinition[] = [
  { id: 1, key: 'atomic-slot', name: 'Atomic slot', run: runAtomicSlot },
  { id: 2, key: 'payment-booking', name: 'Payment ↔ booking consistency', run: cataloguePhase(2) },
  { id: 3, key: 'time-hostility', name: 'Time hostility', run: cataloguePhase(3) },
  { id: 4, key: 'abuse', name: 'Abuse and probing', run: cataloguePhase(4) },
  { id: 5, key: 'degraded', name: 'Degraded reality', run: cataloguePhase(5) },
  { id: 6, key: 'forensics', name: 'Forensics and explainability', run: cataloguePhase(6) },
  { id: 7, key: 'soak', name: 'Soak and time decay', run: cataloguePhase(7) },
];

export type { PhaseOutcome };
