// `bookiji certify` end to end: fresh databases on the target server (one
// normal, one created for simulation), the phases, the verdict, the signed
// files, and the databases dropped again whatever happened.

import { randomInt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { adminConnectionStringFor, createCertifyDatabase, dropCertifyDatabase } from './databases.js';
import type { CertifyDatabase } from './context.js';
import { writeCertification, type CertificationFiles } from './output.js';
import { runCertification } from './runner.js';
import type { CertificationReport, PhaseId, ProfileName } from './types.js';
import { PROFILES } from './profiles.js';
import type { MutationScore } from './signing/statement.js';

export interface CertifyOptions {
  /** Any database on the target server; certify creates its own beside it. */
  connectionString: string;
  profile: ProfileName;
  seed?: number;
  phases?: readonly PhaseId[];
  outDir: string;
  privateKey: KeyObject;
  publicKeyPath: string;
  log?: (message: string) => void;
  /** Also run the mutant catalogue after the phases and sign its score (`certify --mutants`). */
  mutants?: boolean;
}

/** Seeds are 31-bit so they read well and survive every JSON tool. */
export const SEED_MAX = 2 ** 31 - 1;

export async function certify(options: CertifyOptions): Promise<{ report: CertificationReport; files: CertificationFiles }> {
  const seed = options.seed ?? randomInt(1, SEED_MAX);
  const admin = adminConnectionStringFor(options.connectionString);
  const log = options.log ?? (() => undefined);
  const created: CertifyDatabase[] = [];
  try {
    log('creating certification databases');
    const normal = await createCertifyDatabase(admin, { simulation: false, label: 'n' });
    created.push(normal);
    const simulation = await createCertifyDatabase(admin, { simulation: true, label: 's' });
    created.push(simulation);
    const phasesFlag = options.phases && options.phases.length < 7 ? ` --phases ${options.phases.join(',')}` : '';
    const report = await runCertification({
      normal,
      simulation,
      adminConnectionString: admin,
      profile: options.profile,
      params: PROFILES[options.profile],
      seed,
      ...(options.phases ? { phases: options.phases } : {}),
      log,
      reproduceCommand: `bookiji certify --profile ${options.profile} --seed ${seed}${phasesFlag}`,
    });
    const signed = options.mutants ? { ...report, mutants: await scoreMutants(admin, options, seed, log) } : report;
    const files = writeCertification(signed, options.outDir, options.privateKey, options.publicKeyPath);
    return { report: signed, files };
  } finally {
    for (const db of created) await dropCertifyDatabase(admin, db).catch(() => undefined);
  }
}

/** The catalogue against this build, in databases of its own; its report file lands beside the certification's. */
async function scoreMutants(admin: string, options: CertifyOptions, seed: number, log: (message: string) => void): Promise<MutationScore> {
  const { runMutants, summarize, writeMutationReport, mutationScoreOf } = await import('./mutants/index.js');
  const outcomes = await runMutants({ adminConnectionString: admin, profile: options.profile, seed, log });
  writeMutationReport(options.outDir, outcomes);
  return mutationScoreOf(summarize(outcomes), options.profile);
}
