// Drivers by the name scenario files use in their "driver" field.

import type { AnyDriver } from './driver.js';
import { abuseProbing } from './abuseProbing.js';
import { degradedReality } from './degradedReality.js';
import { doubleBooking } from './doubleBooking.js';
import { forensicReplay } from './forensicReplay.js';
import { guardProbes } from './guardProbes.js';
import { paymentConsistency } from './paymentConsistency.js';
import { reservations } from './reservations.js';
import { rescheduleAtomicity } from './rescheduleAtomicity.js';
import { soakDecay } from './soakDecay.js';
import { timeHostility } from './timeHostility.js';

export const drivers: Record<string, AnyDriver> = {
  'double-booking': doubleBooking,
  'reschedule-atomicity': rescheduleAtomicity,
  'payment-consistency': paymentConsistency,
  'time-hostility': timeHostility,
  'abuse-probing': abuseProbing,
  'degraded-reality': degradedReality,
  'soak-decay': soakDecay,
  'forensic-replay': forensicReplay,
  reservations,
  'guard-probes': guardProbes,
};
