// Forensics: a booking's full story from the database's own records, with
// every gap named. Read-only.

export { findBookings, reconstructBooking } from './reconstruct.js';
export { redactCustomer, redactEmail, redactName } from './redact.js';
export { relatedRows, bookingsForPaymentIntent, RELATED_ROWS_PER_TABLE_MAX } from './related.js';
export type * from './types.js';
