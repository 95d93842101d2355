// Every command group, registered in the order `bookiji --help` lists them.

import type { Command } from 'commander';
import { registerApikey } from './apikey.js';
import { registerAudit } from './audit.js';
import { registerBook } from './book.js';
import { registerBooking } from './booking.js';
import { registerCustomer } from './customer.js';
import { registerDb } from './db.js';
import { registerForensics } from './forensics.js';
import { registerHolds } from './holds.js';
import { registerSchedule, registerVendorImportIcs } from './schedule.js';
import { registerServe } from './serve.js';
import { registerSlot } from './slot.js';
import { registerVendor } from './vendor.js';
import { registerVerify } from './verify.js';
import { registerReconcile } from './reconcile.js';
import { registerPayment } from './payment.js';
import { registerStripeSandbox } from './stripeSandbox.js';

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
  registerServe(program);
  registerApikey(program);
  registerForensics(program);
  registerReconcile(program);
  registerPayment(program);
  registerStripeSandbox(program);
}
