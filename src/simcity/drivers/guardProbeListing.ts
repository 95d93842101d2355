// SC-10's listing probe: what availability tells a partner, against slots
// the probe made itself. Certify otherwise reads availability only for
// vendors that do not exist, so a listing that offered full slots or slots a
// refresh removed passed it; every claim on them would then fail.
//  - FULL: capacity 1, booked: not listed (I1);
//  - REMOVED: capacity 2, one booking, dropped by a schedule refresh (legacy):
//    not listed, though it has a seat (I7);
//  - OPEN: capacity 2, one booking: listed with 1 seat available.

import { queryAvailability } from '../../api/availability.js';
import { claimSlot } from '../../engine/bookings.js';
import { refreshVendorSlots } from '../../engine/slots.js';
import type { HistoryEvent } from '../types.js';
import type { ClientSession } from './channels.js';
import type { Finding } from './driver.js';
import { PROBE_ACTOR, probeSlot, type GuardProbeFixture } from './guardProbeActions.js';

/** The customer the listing probe books for (capacity, not the hold limit, is what it tests). */
const CUSTOMER_INDEX = 2;

export async function listingProbe(fixture: GuardProbeFixture, session: ClientSession): Promise<Record<string, unknown>> {
  const pool = session.pool;
  const customer = fixture.customers[CUSTOMER_INDEX]!;
  const full = await probeSlot(pool, fixture, 1);
  const removed = await probeSlot(pool, fixture, 2);
  const open = await probeSlot(pool, fixture, 2);
  for (const slot of [full, removed, open]) await claimSlot(pool, { slot: slot.id, customer }, PROBE_ACTOR);
  await refreshVendorSlots(pool, fixture.vendorId, { from: removed.startsAt, to: removed.endsAt }, [], PROBE_ACTOR);
  const listing = await queryAvailability(pool, { vendorId: fixture.vendorId, startTime: full.startsAt.toISOString(), endTime: open.endsAt.toISOString() });
  const probed = new Map([
    [full.id, 'FULL'],
    [removed.id, 'REMOVED'],
    [open.id, 'OPEN'],
  ]);
  const listed = listing.slots.filter((s) => probed.has(s.slotId)).map((s) => ({ slot: probed.get(s.slotId)!, available: s.available }));
  return { slots: Object.fromEntries([...probed].map(([id, name]) => [name, id])), listed };
}

/** The listing must offer OPEN with its one seat, and nothing else the probe made. */
export function listingFindings(events: HistoryEvent[]): Finding[] {
  const findings: Finding[] = [];
  for (const event of events.filter((e) => e.type === 'ok' && e.action === 'listing_probe')) {
    const listed = (event.value!.listed ?? []) as Array<{ slot: string; available: number }>;
    for (const wrong of listed.filter((s) => s.slot !== 'OPEN'))
      findings.push({
        oracle: 'listing-truthful',
        message: `availability lists the ${wrong.slot} slot (${wrong.available} available), which takes no new booking`,
        evidence: event.value,
      });
    const open = listed.find((s) => s.slot === 'OPEN');
    if (!open || open.available !== 1)
      findings.push({
        oracle: 'listing-truthful',
        message: `availability ${open ? `offers ${open.available} seats` : 'does not list'} the OPEN slot, which has 1 seat left`,
        evidence: event.value,
      });
  }
  return findings;
}
