// What every figure receives, and what it returns.

import type { BenchSizes } from '../options.js';
import type { FigureReport } from '../report.js';
import type { BenchServer } from '../server.js';

export interface FigureContext {
  server: BenchServer;
  sizes: BenchSizes;
  quick: boolean;
  /** The package root: bin/bookiji and dist/ live under it. */
  packageRoot: string;
  log(message: string): void;
}

export type FigureResult = Omit<FigureReport, 'durationMs'>;
