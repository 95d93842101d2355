// Scenario definitions are data (scenarios/<ID>.json at the package root):
// what a scenario proves, its fixtures, the ranges a seed draws its
// parameters from, its action mix and the oracles it runs. The driver named
// in the file implements the actions and oracles; the runtime refuses a file
// naming an oracle its driver does not run, so a definition cannot claim a
// check nobody runs.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BookijiError } from '../errors.js';

export interface Range {
  min: number;
  max: number;
}

export interface ScenarioDefinition {
  id: string;
  title: string;
  proves: string;
  driver: string;
  /** The certification phase (SPEC §4, 1–7) whose evidence this scenario is. */
  phase: number;
  /** The invariants its oracles check (I1–I10, P1–P4, R1–R4, or a named property); the runtime refuses ids no oracle checks. */
  invariants: string[];
  /** "simulation": the scenario moves the clock, so it runs in a database created for simulation. */
  database?: 'target' | 'simulation';
  iterationsDefault: number;
  fixtures: Record<string, unknown>;
  actionsPerIteration: Range;
  concurrency: Range;
  actionWeights: Record<string, Range>;
  paths: string[];
  oracles: string[];
  terminalStates: string[];
}

/** SPEC §1's invariants, the payment ledger's P1–P4 and the reservation machine's R1–R4. */
export const INVARIANT_IDS: readonly string[] = [
  ...Array.from({ length: 10 }, (_, i) => `I${i + 1}`),
  ...Array.from({ length: 4 }, (_, i) => `P${i + 1}`),
  ...Array.from({ length: 4 }, (_, i) => `R${i + 1}`),
];
/** SPEC's ids, or a named property a scenario adds (privacy): a word, never free text. */
const INVARIANT_ID = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

/** scenarios/ sits next to src/ and dist/, two levels above this file in either. */
export function scenariosDirectory(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios');
}

export function listScenarios(directory = scenariosDirectory()): ScenarioDefinition[] {
  return readdirSync(directory)
    .filter((name) => /^SC-\d+\.json$/.test(name))
    .map((name) => parseDefinition(readFileSync(path.join(directory, name), 'utf8'), name))
    .sort((a, b) => Number(a.id.slice(3)) - Number(b.id.slice(3)));
}

export function loadScenario(id: string, directory = scenariosDirectory()): ScenarioDefinition {
  const found = listScenarios(directory).find((definition) => definition.id.toLowerCase() === id.toLowerCase());
  if (!found) {
    const known = listScenarios(directory)
      .map((d) => d.id)
      .join(', ');
    throw new BookijiError('USAGE_ERROR', `unknown scenario ${id} (known: ${known})`, { hint: 'Run `bookiji simcity list` to see the scenarios.' });
  }
  return found;
}

function isRange(value: unknown): value is Range {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Range).min === 'number' &&
    typeof (value as Range).max === 'number' &&
    (value as Range).min <= (value as Range).max
  );
}

function parseDefinition(text: string, fileName: string): ScenarioDefinition {
  const raw = JSON.parse(text) as Partial<ScenarioDefinition>;
  const problem = (what: string): never => {
    throw new BookijiError('INTERNAL_ERROR', `scenario file ${fileName}: ${what}`);
  };
  if (typeof raw.id !== 'string' || `${raw.id}.json` !== fileName) problem('id must match the file name');
  if (typeof raw.title !== 'string' || typeof raw.proves !== 'string' || typeof raw.driver !== 'string') problem('title, proves and driver are required');
  if (!Number.isInteger(raw.iterationsDefault) || (raw.iterationsDefault ?? 0) < 1) problem('iterationsDefault must be a positive integer');
  if (!isRange(raw.actionsPerIteration) || !isRange(raw.concurrency)) problem('actionsPerIteration and concurrency must be {min, max}');
  if (!raw.actionWeights || !Object.values(raw.actionWeights).every(isRange)) problem('actionWeights must map action kinds to {min, max}');
  if (!Array.isArray(raw.oracles) || !Array.isArray(raw.paths) || !Array.isArray(raw.terminalStates))
    problem('oracles, paths and terminalStates must be lists');
  if (!Number.isInteger(raw.phase) || (raw.phase ?? 0) < 1 || (raw.phase ?? 0) > 7) problem('phase must be a certification phase from 1 to 7');
  if (!Array.isArray(raw.invariants) || raw.invariants.length === 0 || !raw.invariants.every((id) => INVARIANT_ID.test(String(id))))
    problem('invariants must list ids like I1, P2, R3 (or a one-word property)');
  return raw as ScenarioDefinition;
}
