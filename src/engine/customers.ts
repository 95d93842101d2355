import { BookijiError } from '../errors.js';
import { queryWithRetry, type Pool } from '../db/pool.js';
import { toCustomer } from './rows.js';
import type { Customer } from './types.js';
import { requireEmail, requireText, requireUuid } from './validate.js';

export async function addCustomer(pool: Pool, input: { name: unknown; email: unknown }): Promise<Customer> {
  const name = requireText('name', input.name, 200);
  const email = requireEmail('email', input.email);
  try {
    const result = await queryWithRetry(pool, 'INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING *', [name, email]);
    return toCustomer(result.rows[0]!);
  } catch (error) {
    // A duplicate email is the user's input, not a booking conflict.
    if (error instanceof BookijiError && error.details.constraint === 'customers_email_unique') {
      throw new BookijiError('VALIDATION_ERROR', `email: a customer with ${email} already exists`, { details: { field: 'email' }, cause: error });
    }
    throw error;
  }
}

export async function listCustomers(pool: Pool, options: { limit?: number } = {}): Promise<Customer[]> {
  const result = await queryWithRetry(pool, 'SELECT * FROM customers ORDER BY created_at, id LIMIT $1', [options.limit ?? 1000]);
  return result.rows.map(toCustomer);
}

export async function getCustomer(pool: Pool, customerId: unknown): Promise<Customer> {
  const id = requireUuid('customer', customerId);
  const result = await queryWithRetry(pool, 'SELECT * FROM customers WHERE id = $1', [id]);
  if (result.rowCount === 0) throw new BookijiError('CUSTOMER_NOT_FOUND', `customer ${id} not found`, { details: { customerId: id } });
  return toCustomer(result.rows[0]!);
}
