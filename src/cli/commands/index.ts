// Every command group, registered in the order `bookiji --help` lists them.

import type { Command } from 'commander';
import { registerAudit } from './audit.js';
import { registerBook } from './book.js';
import { registerBooking } from './booking.js';
import { registerCustomer } from './customer.js';
import { registerDb } from './db.js';
import { registerForensics } from './forensics.js';
import { registerHolds } from './holds.js';
import { registerSlot } from './slot.js';
import { registerVendor } from './vendor.js';
import { registerVerify } from './verify.js';

export function registerCommands(program: Command): void {
  registerDb(program);
  registerVendor(program);
  registerCustomer(program);
  registerSlot(program);
  registerBook(program);
  registerBooking(program);
  registerHolds(program);
  registerVerify(program);
  registerAudit(program);
  registerForensics(program);
}
