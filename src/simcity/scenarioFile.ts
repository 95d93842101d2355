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
  /** The certification phase (SPEC §4) the scenario is evidence for. */
  phase?: number;
  /** The invariants its oracles check (SPEC §1). */
  invariants?: string[];
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
    const known = listScenarios(directory).map((d) => d.id).join(', ');
    throw new BookijiError('USAGE_ERROR', `unknown scenario ${id} (known: ${known})`, { hint: 'Run `bookiji simcity list` to see the scenarios.' });
  }
  return found;
}

function isRange(value: unknown): value is Range {
  return typeof value === 'object' && value !== null && typeof (value as Range).min === 'number' && typeof (value as Range).max === 'number' && (value as Range).min <= (value as Range).max;
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
  if (!Array.isArray(raw.oracles) || !Array.isArray(raw.paths) || !Array.isArray(raw.terminalStates)) problem('oracles, paths and terminalStates must be lists');
  return raw as ScenarioDefinition;
}
