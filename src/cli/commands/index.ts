// Every command group, registered in the order `bookiji --help` lists them.

import type { Command } from 'commander';
import { registerApikey } from './apikey.js';
import { registerAudit } from './audit.js';
import { registerBook } from './book.js';
import { registerBooking } from './booking.js';
import { registerCertify } from './certify.js';
import { registerCustomer } from './customer.js';
import { registerDb } from './db.js';
import { registerForensics } from './forensics.js';
import { registerHolds } from './holds.js';
import { registerKeys } from './keys.js';
import { registerSchedule, registerVendorImportIcs } from './schedule.js';
import { registerServe } from './serve.js';
import { registerSimcity } from './simcity.js';
import { registerSlot } from './slot.js';
import { registerVendor } from './vendor.js';
import { registerVerify } from './verify.js';
import { registerReconcile } from './reconcile.js';
import { registerPayment } from './payment.js';
import { registerStripeSandbox } from './stripeSandbox.js';
import { registerReservation } from './reservation.js';

export function registerCommands(program: Command): void {
  registerDb(program);
  registerVendor(program);
  registerVendorImportIcs(program);
  registerCustomer(program);
  registerSlot(program);
  registerSchedule(program);
  registerBook(program);
  registerBooking(program);
  registerHolds(program);
  registerVerify(program);
  registerAudit(program);
  registerSimcity(program);
  registerServe(program);
  registerApikey(program);
  registerForensics(program);
  registerKeys(program);
  registerCertify(program);
  registerReconcile(program);
  registerPayment(program);
  registerStripeSandbox(program);
  registerReservation(program);
}
