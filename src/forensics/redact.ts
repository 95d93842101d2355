// Personal data as support should see it: enough to recognise the customer
// on the phone, not enough to copy their identity into a ticket.

import type { RedactedCustomer } from './types.js';

export function redactName(name: string): string {
  const words = name
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  if (words.length === 0) return '';
  const [first, ...rest] = words;
  const last = rest.at(-1);
  return last ? `${first} ${last[0]!.toUpperCase()}.` : first!;
}

export function redactEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

export function redactCustomer(customer: { id: string; name: string; email: string }): RedactedCustomer {
  return { id: customer.id, name: redactName(customer.name), email: redactEmail(customer.email) };
}
