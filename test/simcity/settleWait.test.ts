// When the settle phase may skip its wait for quiet (mayLeaveRequestsRunning):
// only for a driver whose answers are final, in an iteration without faults
// and without unknown outcomes. Any of those, and it waits, as it always did.

import { describe, expect, it } from 'vitest';
import { drivers } from '../../src/simcity/drivers/registry.js';
import { mayLeaveRequestsRunning } from '../../src/simcity/runtime.js';
import type { HistoryEvent } from '../../src/simcity/index.js';

function event(process: string, type: HistoryEvent['type'], action = 'send_book'): HistoryEvent {
  return { index: 0, iteration: 0, step: 0, process, type, action, args: {}, atMs: 0 };
}

const ANSWERED = [event('c0', 'invoke'), event('c0', 'ok'), event('c1', 'invoke'), event('c1', 'fail'), event('idle', 'ok', 'no_op')];
const doubleBooking = drivers['double-booking']!;

describe('the settle phase waits for quiet', () => {
  it('not after an iteration whose every request was answered, on a driver whose answers are final', () => {
    // Proves the skip exists: SC-1's driver declares its answers final, and an all-answered iteration leaves nothing running.
    expect(doubleBooking.answersAreFinal).toBe(true);
    expect(mayLeaveRequestsRunning(doubleBooking, ANSWERED)).toBe(false);
  });

  it('after a fault (a restart forgets requests the server may still run)', () => {
    const restarted = [...ANSWERED, event('nemesis', 'invoke', 'restart_simcity'), event('nemesis', 'ok', 'restart_simcity')];
    expect(mayLeaveRequestsRunning(doubleBooking, restarted)).toBe(true);
  });

  it('after an unknown outcome (a timeout or a lost connection may still land)', () => {
    expect(mayLeaveRequestsRunning(doubleBooking, [...ANSWERED, event('c2', 'invoke'), event('c2', 'unknown')])).toBe(true);
  });

  it('always, on a driver that does not declare its answers final', () => {
    // Twin: the same all-answered iteration on a driver without the flag still waits.
    const withoutFlag = { ...doubleBooking, answersAreFinal: undefined };
    expect(mayLeaveRequestsRunning(withoutFlag, ANSWERED)).toBe(true);
  });
});
