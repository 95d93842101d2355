// What a well-formed bench report looks like, as a list of problems (empty
// when well formed). Shared by the smoke test and its broken-report twin.

interface SpreadLike {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

function spreadProblems(where: string, spread: unknown, repetitions: number): string[] {
  if (spread === null) return [];
  const value = spread as SpreadLike;
  if (typeof value !== 'object' || !Array.isArray(value.samples)) return [`${where}: not a spread`];
  const problems: string[] = [];
  if (value.samples.length < repetitions) problems.push(`${where}: ${value.samples.length} samples, fewer than ${repetitions} repetitions`);
  for (const key of ['median', 'min', 'max'] as const) {
    if (typeof value[key] !== 'number' || !Number.isFinite(value[key])) problems.push(`${where}.${key} is not a finite number`);
  }
  if (value.min > value.median || value.median > value.max) problems.push(`${where}: min ≤ median ≤ max does not hold`);
  return problems;
}

export function reportProblems(report: unknown, expectedFigures: string[]): string[] {
  const problems: string[] = [];
  const r = report as Record<string, any>;
  if (r?.schema !== 'bookiji-bench/1') problems.push('schema is not bookiji-bench/1');
  if (typeof r?.repetitions !== 'number' || r.repetitions < 3) problems.push('fewer than 3 repetitions');
  const machine = r?.machine ?? {};
  if (!(machine.cores > 0)) problems.push('machine.cores missing');
  if (!(machine.memoryMb > 0)) problems.push('machine.memoryMb missing');
  if (!/^PostgreSQL \d+/.test(String(machine.postgres))) problems.push('machine.postgres missing');
  const figures: any[] = Array.isArray(r?.figures) ? r.figures : [];
  for (const id of expectedFigures) if (!figures.some((figure) => figure.id === id)) problems.push(`figure ${id} missing`);
  for (const figure of figures) {
    if (figure.status === 'failed') problems.push(`figure ${figure.id} failed: ${figure.reason}`);
    if (figure.status === 'skipped' && !figure.reason) problems.push(`figure ${figure.id} skipped without a reason`);
    if (figure.status !== 'measured') continue;
    if (!Array.isArray(figure.checks) || figure.checks.length === 0) problems.push(`figure ${figure.id} has no checks`);
    for (const check of figure.checks ?? []) {
      const where = `${figure.id}/${check.id}`;
      if (typeof check.target !== 'string' || check.target.length === 0) problems.push(`${where}: no target`);
      if (!(check.met === null || typeof check.met === 'boolean')) problems.push(`${where}: met is neither boolean nor null`);
      if (check.engine === null) problems.push(`${where}: no engine figure`);
      problems.push(...spreadProblems(`${where}.engine`, check.engine, r.repetitions));
      problems.push(...spreadProblems(`${where}.baseline`, check.baseline, r.repetitions));
      problems.push(...spreadProblems(`${where}.ratio`, check.ratio, r.repetitions));
      if (check.ratio !== null && check.baseline === null) problems.push(`${where}: a ratio without a baseline`);
    }
  }
  return problems;
}
