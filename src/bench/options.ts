// Command-line options and the sizes of every figure, full and quick.
//
// Quick mode keeps every figure's shape (same steps, same baselines, three
// repetitions) with smaller counts, so CI can check in under a minute that
// the harness works; its numbers are not the published ones.

export interface BenchSizes {
  repetitions: number;
  claimClients: number[];
  claimOpsPerRun: number;
  warmupOps: number;
  tpcbBranches: number;
  tpcbAccounts: number;
  /** pgbench -i scale of figure 1's pgbench pair (pgbench advises at least the client count). */
  pgbenchScale: number;
  /**
   * Transactions per client per run of figure 1's pgbench pair (-t). Each run
   * opens new connections, so its first transactions plan every PL/pgSQL
   * function cold; too few per client and that start-up is what is measured.
   */
  pgbenchTransactionsPerClient: number;
  hotContenders: number;
  hotConcurrency: number;
  availabilityDays: number;
  availabilityVendors: number;
  availabilitySlotsPerDay: number;
  /** Per repetition: timed calls for the one-vendor listing, and timed passes over all vendors for the many-vendor one. */
  availabilityCallsPerRun: number;
  availabilityConcurrency: number;
  soakOps: number;
  soakConcurrency: number;
  startupRunsPerRepetition: number;
  alternativeContenders: number;
  alternativeCapacityContenders: number;
  certifyTimeoutMs: number;
  /**
   * Certification runs take minutes each and have no baseline to pair with,
   * so one wall time per full run is what we report (the one figure with
   * fewer than three repetitions; the report says so).
   */
  certifyRepetitions: number;
}

export const FULL_SIZES: BenchSizes = {
  repetitions: 3,
  claimClients: [1, 8, 32],
  claimOpsPerRun: 2_000,
  warmupOps: 300,
  // pgbench's advice is a scale factor at least the client count, so the
  // baseline is not throttled by its own 'branches' hot rows.
  tpcbBranches: 32,
  tpcbAccounts: 100_000,
  pgbenchScale: 32,
  pgbenchTransactionsPerClient: 500,
  hotContenders: 1_000,
  hotConcurrency: 32,
  availabilityDays: 90,
  // Issue 13's target: 50 vendors, one day each.
  availabilityVendors: 50,
  availabilitySlotsPerDay: 16,
  availabilityCallsPerRun: 30,
  availabilityConcurrency: 8,
  soakOps: 100_000,
  soakConcurrency: 8,
  startupRunsPerRepetition: 7,
  alternativeContenders: 1_000,
  alternativeCapacityContenders: 200,
  certifyTimeoutMs: 15 * 60_000,
  certifyRepetitions: 1,
};

export const QUICK_SIZES: BenchSizes = {
  repetitions: 3,
  claimClients: [1, 8, 32],
  claimOpsPerRun: 80,
  warmupOps: 20,
  tpcbBranches: 32,
  tpcbAccounts: 5_000,
  pgbenchScale: 4,
  pgbenchTransactionsPerClient: 40,
  hotContenders: 64,
  hotConcurrency: 32,
  availabilityDays: 90,
  availabilityVendors: 50,
  availabilitySlotsPerDay: 16,
  availabilityCallsPerRun: 5,
  availabilityConcurrency: 8,
  soakOps: 500,
  soakConcurrency: 8,
  startupRunsPerRepetition: 1,
  alternativeContenders: 16,
  alternativeCapacityContenders: 8,
  certifyTimeoutMs: 15 * 60_000,
  certifyRepetitions: 1,
};

export const FIGURE_IDS = ['1', '2', '3', '4', '5', '6', '7', 'alt'] as const;
export type FigureId = (typeof FIGURE_IDS)[number];

export interface BenchOptions {
  quick: boolean;
  outFile: string;
  only: FigureId[];
  sizes: BenchSizes;
}

export const USAGE = `usage: node dist/bench/main.js [--quick] [--out FILE] [--only 1,2,alt]

  --quick        every figure with small counts (under a minute): checks the harness works
  --out FILE     where to write the JSON report (default reports/bench.json)
  --only LIST    only these figures: 1 claims, 2 hot slot, 3 availability, 4 SimCity,
                 5 soak, 6 CLI start-up, 7 certification, alt claim-path alternatives

Uses DATABASE_URL if set (the role needs CREATEDB); otherwise starts a
disposable embedded PostgreSQL in a temporary directory.`;

export class UsageError extends Error {}

export function parseOptions(argv: string[], defaultOutFile: string): BenchOptions {
  let quick = false;
  let outFile = defaultOutFile;
  let only: FigureId[] = [...FIGURE_IDS];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === '--quick') quick = true;
    else if (argument === '--out') {
      const value = argv[++index];
      if (!value) throw new UsageError('--out needs a file name');
      outFile = value;
    } else if (argument === '--only') {
      const value = argv[++index];
      if (!value) throw new UsageError('--only needs a list such as 1,2,alt');
      const wanted = value.split(',').map((part) => part.trim());
      const unknown = wanted.filter((id) => !(FIGURE_IDS as readonly string[]).includes(id));
      if (unknown.length) throw new UsageError(`--only: unknown figure(s) ${unknown.join(', ')} (known: ${FIGURE_IDS.join(', ')})`);
      only = wanted as FigureId[];
    } else if (argument === '--help' || argument === '-h') throw new UsageError('');
    else throw new UsageError(`unknown argument ${argument}`);
  }
  return { quick, outFile, only, sizes: quick ? QUICK_SIZES : FULL_SIZES };
}
