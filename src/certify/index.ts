// The certifier: seven phases, a verdict, signed files, and their verification.

export { certify, SEED_MAX, type CertifyOptions } from './certify.js';
export { runCertification, type RunCertificationOptions } from './runner.js';
export { verifyCertification, type CertificationVerification } from './verify.js';
export { writeCertification, filesIn, serializeReport, subjectsOf, REPORT_BASENAME, type CertificationFiles } from './output.js';
export { PROFILES, profileNamed, type ProfileParameters } from './profiles.js';
export { PHASES } from './phases/index.js';
export type * from './types.js';
