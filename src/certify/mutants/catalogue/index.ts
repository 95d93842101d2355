// The project's catalogue of engine mutants, in a fixed order (the report
// and the catalogue digest follow it).

import type { Mutant } from '../types.js';
import { BOOKING_GUARD_MUTANTS } from './bookingGuards.js';
import { CHANGE_GUARD_MUTANTS } from './changeGuards.js';
import { PAYMENT_GUARD_MUTANTS } from './paymentGuards.js';
import { RECORD_GUARD_MUTANTS } from './recordGuards.js';
import { RESERVATION_GUARD_MUTANTS } from './reservationGuards.js';
import { TYPESCRIPT_GUARD_MUTANTS } from './typescriptGuards.js';

export const MUTANTS: readonly Mutant[] = [
  ...BOOKING_GUARD_MUTANTS,
  ...CHANGE_GUARD_MUTANTS,
  ...RECORD_GUARD_MUTANTS,
  ...PAYMENT_GUARD_MUTANTS,
  ...RESERVATION_GUARD_MUTANTS,
  ...TYPESCRIPT_GUARD_MUTANTS,
];

export function mutantNamed(id: string): Mutant | undefined {
  return MUTANTS.find((m) => m.id === id);
}
