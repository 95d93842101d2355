// Figure 4: SimCity overhead. SC-1 (the double-booking attack, oracles on
// after every step) in actions per second, against raw claims per second
// on distinct slots at the same concurrency, same server, same run. The
// ratio says how much of the engine's speed a certification run keeps.
// Skipped when the build has no SimCity runner.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { claimSlot } from '../../engine/bookings.js';
import { latenciesOf, runLoad } from '../load.js';
import { ratioCheck } from '../report.js';
import { BENCH_ACTOR, seedCustomers, seedSlotGrid, seedVendors, warmPool } from '../seed.js';
import { spreadOf } from '../stats.js';
import type { FigureContext, FigureResult } from './context.js';

const SIMCITY_RATIO_MIN = 0.5;
const CONCURRENCY = 8;
const VENDOR_COUNT = 64;

interface ScenarioRunner {
  runScenario(options: {
    scenarioId: string;
    seed: string;
    iterations?: number;
    concurrency?: number;
    connectionString?: string;
    commit?: string | null;
  }): Promise<{
    actions: number;
    durationMs: number;
    passed: boolean;
    verdict: string;
    stats: { oracleChecks: number; invocations: number };
  }>;
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: stays long: one figure read top to bottom as its method (seed, warm, measure, check), each step using the rows the last one made.
export async function simcityOverhead(context: FigureContext): Promise<FigureResult> {
  const skipped = (reason: string): FigureResult => ({ id: '4', title: 'SimCity overhead', status: 'skipped', reason, checks: [], details: {} });
  const entry = path.join(context.packageRoot, 'dist', 'simcity', 'index.js');
  if (!existsSync(entry)) return skipped('no SimCity in this build (dist/simcity/index.js is missing)');
  const simcity = (await import(pathToFileURL(entry).href)) as Partial<ScenarioRunner>;
  if (typeof simcity.runScenario !== 'function') return skipped('dist/simcity/index.js does not export runScenario');
  const runScenario = simcity.runScenario.bind(simcity);

  const iterations = context.quick ? 3 : 50;
  const database = await context.server.createDatabase('simcity');
  const pool = database.openPool(CONCURRENCY);
  const vendors = await seedVendors(pool, VENDOR_COUNT, 'Raw-claims vendor');
  const customers = await seedCustomers(pool, 1_000, 'Raw-claims customer');
  const rawPerRun = context.quick ? 100 : 1_000;
  const slots = await seedSlotGrid(pool, {
    vendorIds: vendors,
    slotsPerVendor: Math.ceil(((context.sizes.repetitions + 1) * rawPerRun) / VENDOR_COUNT),
    startAfterHours: 48,
    slotMinutes: 60,
    strideMinutes: 60,
  });
  await warmPool(pool, CONCURRENCY);
  let cursor = 0;
  const rawClaims = async (count: number): Promise<number> => {
    const result = await runLoad(count, CONCURRENCY, (index) =>
      claimSlot(pool, { slot: slots[cursor++]!.id, customer: customers[index % customers.length] }, BENCH_ACTOR),
    );
    return latenciesOf(result, 'ok').length / (result.wallMs / 1000);
  };
  await rawClaims(rawPerRun);
  await runScenario({
    scenarioId: 'SC-1',
    seed: 'bench-warmup',
    iterations: 2,
    concurrency: CONCURRENCY,
    connectionString: database.connectionString,
    commit: null,
  });

  const simcityRates: number[] = [];
  const rawRates: number[] = [];
  const verdicts: string[] = [];
  const oracleChecks: number[] = [];
  for (let repetition = 0; repetition < context.sizes.repetitions; repetition++) {
    context.log(`figure 4: repetition ${repetition + 1}`);
    rawRates.push(await rawClaims(rawPerRun));
    const result = await runScenario({
      scenarioId: 'SC-1',
      seed: `bench-${repetition}`,
      iterations,
      concurrency: CONCURRENCY,
      connectionString: database.connectionString,
      commit: null,
    });
    simcityRates.push(result.actions / (result.durationMs / 1000));
    verdicts.push(result.verdict);
    oracleChecks.push(result.stats.oracleChecks);
  }
  await pool.end();
  return {
    id: '4',
    title: 'SimCity overhead',
    status: 'measured',
    checks: [
      ratioCheck({
        id: '4.sc1',
        label: `SC-1 actions/s (oracles on) vs raw claims/s, ${CONCURRENCY} at a time`,
        unit: '/s',
        engine: spreadOf(simcityRates),
        baseline: spreadOf(rawRates),
        ratio: spreadOf(simcityRates.map((rate, i) => rate / rawRates[i]!)),
        target: `≥ ${SIMCITY_RATIO_MIN.toFixed(1)}×`,
        bound: SIMCITY_RATIO_MIN,
        direction: 'atLeast',
        notes: `verdicts ${verdicts.join('/')}`,
      }),
    ],
    details: {
      iterations,
      concurrency: CONCURRENCY,
      verdicts,
      oracleChecks,
      rawClaimsPerRun: rawPerRun,
      note: 'SC-1 wall time includes its fixtures, oracles and settling per iteration, as a certification run pays them',
    },
  };
}
