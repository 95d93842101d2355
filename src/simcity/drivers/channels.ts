// Which path a client request takes. The engine path calls the engine's
// TypeScript layer on a pooled connection; an HTTP path would send the same
// request to `bookiji serve`. Keeping the choice here (seeded, from the
// parameter set's path shares) makes adding that adapter a local change.

import type { Random } from '../random.js';
import type { ScenarioParameters } from '../types.js';

export function requestChannel(random: Random, parameters: ScenarioParameters): string {
  return random.weighted(parameters.paths);
}
