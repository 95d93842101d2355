// Every interleaving of the sessions' steps that keeps each session's own
// order: the permutations PostgreSQL's isolation tester runs when a spec
// lists none. n sessions of k steps give (n·k)! / (k!)ⁿ of them.

export interface StepRef {
  session: number;
  step: number;
}

export function interleavings(stepCounts: number[]): StepRef[][] {
  const all: StepRef[][] = [];
  const next = stepCounts.map(() => 0);
  const current: StepRef[] = [];
  const total = stepCounts.reduce((sum, n) => sum + n, 0);
  const walk = (): void => {
    if (current.length === total) {
      all.push([...current]);
      return;
    }
    for (let session = 0; session < stepCounts.length; session++) {
      if (next[session]! < stepCounts[session]!) {
        current.push({ session, step: next[session]! });
        next[session]! += 1;
        walk();
        next[session]! -= 1;
        current.pop();
      }
    }
  };
  walk();
  return all;
}
