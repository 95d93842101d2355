// Runs the catalogue: for each mutant, in databases of its own, the witness
// on the real engine and on the mutant (no difference ⇒ equivalent, not
// counted), then the certification against the mutant, fail-fast, in a
// child process of the mutant's tree.

import { describeError } from '../evidence.js';
import type { ProfileParameters } from '../profiles.js';
import type { ProfileName } from '../types.js';
import { MUTANTS } from './catalogue/index.js';
import { runInChild } from './childProcess.js';
import { clonePair, createTemplates, refOf, type MutantTemplates, type OpenPair } from './databases.js';
import { phaseOrder, type FailFastOutcome } from './phases.js';
import { makePatchedTree, packageRoot } from './patchedTree.js';
import { CERTIFY_TIMEOUT_MS, MUTANT_PROFILES, WITNESS_TIMEOUT_MS } from './profiles.js';
import type { Mutant, MutantOutcome, WitnessResult } from './types.js';

export interface RunMutantsOptions {
  /** An admin-capable connection string of the target server (databases are created beside it). */
  adminConnectionString: string;
  profile: ProfileName;
  /** Overrides the profile's parameters (tests run small). */
  params?: ProfileParameters;
  seed: number;
  mutants?: readonly Mutant[];
  log?: (message: string) => void;
}

export function selectMutants(ids: readonly string[] | undefined): Mutant[] {
  if (!ids || ids.length === 0) return [...MUTANTS];
  const unknown = ids.filter((id) => !MUTANTS.some((m) => m.id === id));
  if (unknown.length > 0) throw new Error(`unknown mutant(s): ${unknown.join(', ')} (known: ${MUTANTS.map((m) => m.id).join(', ')})`);
  return MUTANTS.filter((m) => ids.includes(m.id));
}

export interface MutantTree {
  root: string;
  remove(): void;
}

function treeFor(mutant: Mutant): MutantTree {
  return mutant.patch ? makePatchedTree(mutant.patch) : { root: packageRoot(), remove: () => undefined };
}

async function withPair<T>(templates: MutantTemplates, label: string, work: (pair: OpenPair) => Promise<T>): Promise<T> {
  const pair = await clonePair(templates, label);
  try {
    return await work(pair);
  } finally {
    await pair.drop().catch(() => undefined);
  }
}

async function applyMutation(mutant: Mutant, pair: OpenPair): Promise<void> {
  if (!mutant.apply) return;
  await mutant.apply(pair.normal.pool);
  await mutant.apply(pair.simulation.pool);
}

/** The witness on a mutated pair: in this process for SQL mutants (the code is the real one), in the patched tree's child for TypeScript. */
async function witnessOnMutant(mutant: Mutant, pair: OpenPair, tree: MutantTree, templates: MutantTemplates): Promise<WitnessResult> {
  await applyMutation(mutant, pair);
  if (!mutant.patch)
    return mutant.witness({ normal: pair.normal.pool, simulation: pair.simulation.pool, normalConnectionString: pair.normal.connectionString });
  return runInChild<WitnessResult>(
    tree.root,
    {
      mode: 'witness',
      mutantId: mutant.id,
      normal: refOf(pair.normal),
      simulation: refOf(pair.simulation),
      adminConnectionString: templates.adminConnectionString,
    },
    WITNESS_TIMEOUT_MS,
  );
}

/**
 * The witness on the real engine (which must hold: otherwise the witness is
 * broken) and on the mutant, each in databases of its own.
 */
export async function witnessMutant(mutant: Mutant, templates: MutantTemplates, tree?: MutantTree): Promise<{ real: WitnessResult; mutant: WitnessResult }> {
  const own = tree ?? treeFor(mutant);
  try {
    const real = await withPair(templates, 'wr', (pair) =>
      mutant.witness({ normal: pair.normal.pool, simulation: pair.simulation.pool, normalConnectionString: pair.normal.connectionString }),
    );
    if (!real.held) throw new Error(`the witness fails on the real engine too: ${real.observed}`);
    const mutated = await withPair(templates, 'wm', (pair) => witnessOnMutant(mutant, pair, own, templates));
    return { real, mutant: mutated };
  } finally {
    if (!tree) own.remove();
  }
}

export async function runOneMutant(mutant: Mutant, templates: MutantTemplates, options: RunMutantsOptions): Promise<MutantOutcome> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const base = { id: mutant.id, title: mutant.title, language: mutant.language, invariants: mutant.invariants, phasesRun: [] as MutantOutcome['phasesRun'] };
  const done = (rest: Partial<MutantOutcome> & Pick<MutantOutcome, 'status'>): MutantOutcome => ({ ...base, ...rest, durationMs: Date.now() - started });
  let tree: MutantTree | undefined;
  try {
    tree = treeFor(mutant);
    const witness = await witnessMutant(mutant, templates, tree);
    log(`${mutant.id}: witness on the mutant — ${witness.mutant.observed}`);
    if (witness.mutant.held) return done({ status: 'equivalent', witness });
    const params = options.params ?? MUTANT_PROFILES[options.profile];
    const outcome = await withPair(templates, 'c', async (pair) => {
      await applyMutation(mutant, pair);
      return runInChild<FailFastOutcome>(
        tree!.root,
        {
          mode: 'certify',
          mutantId: mutant.id,
          normal: refOf(pair.normal),
          simulation: refOf(pair.simulation),
          adminConnectionString: templates.adminConnectionString,
          params,
          seed: options.seed,
          order: phaseOrder(mutant.phase),
        },
        CERTIFY_TIMEOUT_MS[options.profile],
        (line) => log(line),
      );
    });
    if (outcome.killedBy) return done({ status: 'killed', witness, killedBy: outcome.killedBy, phasesRun: outcome.phasesRun });
    return done({
      status: 'survived',
      witness,
      phasesRun: outcome.phasesRun,
      shouldBeCaughtBy: mutant.expectedCatcher.startsWith('phase') ? mutant.expectedCatcher : `phase ${mutant.phase}: ${mutant.expectedCatcher}`,
    });
  } catch (error) {
    return done({ status: 'error', error: describeError(error) });
  } finally {
    tree?.remove();
  }
}

export async function runMutants(options: RunMutantsOptions): Promise<MutantOutcome[]> {
  const log = options.log ?? (() => undefined);
  const mutants = options.mutants ?? MUTANTS;
  log(`mutants: preparing migrated templates for ${mutants.length} mutant(s)`);
  const templates = await createTemplates(options.adminConnectionString);
  const outcomes: MutantOutcome[] = [];
  try {
    for (const [index, mutant] of mutants.entries()) {
      log(`mutant ${index + 1}/${mutants.length}: ${mutant.id} — ${mutant.title}`);
      const outcome = await runOneMutant(mutant, templates, options);
      const what =
        outcome.status === 'killed'
          ? `killed by phase ${outcome.killedBy!.phase} (${outcome.killedBy!.check})`
          : outcome.status === 'error'
            ? `error: ${outcome.error}`
            : outcome.status;
      log(`mutant ${mutant.id}: ${what} in ${(outcome.durationMs / 1000).toFixed(1)} s`);
      outcomes.push(outcome);
    }
  } finally {
    await templates.drop().catch(() => undefined);
  }
  return outcomes;
}
