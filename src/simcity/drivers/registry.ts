// Drivers by the name scenario files use in their "driver" field.

import type { AnyDriver } from './driver.js';
import { doubleBooking } from './doubleBooking.js';
import { guardProbes } from './guardProbes.js';
import { paymentConsistency } from './paymentConsistency.js';
import { rescheduleAtomicity } from './rescheduleAtomicity.js';

export const drivers: Record<string, AnyDriver> = {
  'double-booking': doubleBooking,
  'reschedule-atomicity': rescheduleAtomicity,
  'payment-consistency': paymentConsistency,
  'guard-probes': guardProbes,
};
