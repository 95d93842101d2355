// Preloaded into a child process (`node --import …/skewClock.js`) to run its
// wall clock BOOKIJI_CLOCK_SKEW_SECONDS ahead of (or, negative, behind) the
// real one, as on a host whose NTP drifted: every Date.now() and new Date()
// of that process reads the skewed clock, including the Stripe SDK's and
// pino's. Timers and performance.now() keep the real monotonic clock, as
// libfaketime's FAKETIME_DONT_FAKE_MONOTONIC does. Pure JavaScript, so the
// test suite needs nothing beyond Node on a fresh machine; the shipped engine
// never loads it (only SimCity's child processes are started with it).

const skewMs = Number(process.env.BOOKIJI_CLOCK_SKEW_SECONDS ?? '0') * 1000;

if (Number.isFinite(skewMs) && skewMs !== 0) {
  const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(RealDate.now() + skewMs);
      else super(...(args as ConstructorParameters<DateConstructor>));
    }

    static override now(): number {
      return RealDate.now() + skewMs;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;
}

export {};
