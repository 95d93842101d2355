/** A failure a command reports by exit code alone, having printed its own report (verify, simcity). */
export class ReportedFailure extends Error {
  constructor(readonly exitCode: 1 | 2 = 1) {
    super('reported');
  }
}
