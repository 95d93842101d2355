// Figure 1's busy-vendor pair: 16 clients claiming distinct slots of ONE
// vendor, against the same claims spread over 100 vendors, alternating. The
// per-vendor audit chain head is taken by a vendor's every write until
// commit, so this ratio is what that choice costs a busy vendor.

import { claimSlot } from '../../engine/bookings.js';
import { alternating, latenciesOf, runLoad } from '../load.js';
import { ratioCheck, type Check } from '../report.js';
import { BENCH_ACTOR, seedCustomers, seedSlotGrid, seedVendors, warmPool, type SeededSlot } from '../seed.js';
import { spreadOf } from '../stats.js';
import type { FigureContext } from './context.js';

const CLIENTS = 16;
const SPREAD_VENDORS = 100;
const RATIO_MIN = 0.8;

export async function busyVendorPair(context: FigureContext): Promise<Check> {
  const { sizes } = context;
  const database = await context.server.createDatabase('busyvendor');
  const pool = database.openPool(CLIENTS);
  const perRun = sizes.claimOpsPerRun;
  const runs = sizes.repetitions + 1;
  const [busy] = await seedVendors(pool, 1, 'Busy vendor');
  const spread = await seedVendors(pool, SPREAD_VENDORS, 'Spread vendor');
  const customers = await seedCustomers(pool, 2_000, 'Busy vendor customer');
  const grid = { startAfterHours: 48, slotMinutes: 60, strideMinutes: 60 };
  const busySlots = await seedSlotGrid(pool, { ...grid, vendorIds: [busy!], slotsPerVendor: perRun * runs });
  const spreadSlots = await seedSlotGrid(pool, { ...grid, vendorIds: spread, slotsPerVendor: Math.ceil((perRun * runs) / SPREAD_VENDORS) });
  await pool.query('VACUUM ANALYZE');
  await warmPool(pool, CLIENTS);
  const cursors = new Map<SeededSlot[], number>([
    [busySlots, 0],
    [spreadSlots, 0],
  ]);
  const claimsPerS = async (slots: SeededSlot[]): Promise<number> => {
    const start = cursors.get(slots)!;
    cursors.set(slots, start + perRun);
    const result = await runLoad(perRun, CLIENTS, (index) =>
      claimSlot(pool, { slot: slots[start + index]!.id, customer: customers[index % customers.length] }, BENCH_ACTOR),
    );
    return latenciesOf(result, 'ok').length / (result.wallMs / 1000);
  };
  context.log(`figure 1 (busy vendor): ${CLIENTS} clients, one vendor vs ${SPREAD_VENDORS}`);
  await claimsPerS(busySlots); // warm-up of both layouts, not counted
  await claimsPerS(spreadSlots);
  const { engine: one, baseline: many } = await alternating(
    sizes.repetitions,
    () => claimsPerS(busySlots),
    () => claimsPerS(spreadSlots),
  );
  await pool.end();
  return ratioCheck({
    id: '1.busyVendor',
    label: `one vendor, ${CLIENTS} clients on its distinct slots vs spread over ${SPREAD_VENDORS} vendors`,
    unit: '/s',
    engine: spreadOf(one),
    baseline: spreadOf(many),
    ratio: spreadOf(one.map((value, i) => value / many[i]!)),
    target: `≥ ${RATIO_MIN.toFixed(1)}×`,
    bound: RATIO_MIN,
    direction: 'atLeast',
  });
}
