/** Assertions about thrown errors shared by the table-driven tests. */
import * as assert from 'uvu/assert';
import { PolicyError } from '../../src/policy/errors.js';

/** The PolicyError `fn` throws; any other error is rethrown, and no error fails the test. */
export function catchPolicyError(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new assert.Assertion({ message: 'expected a PolicyError', operator: 'throws', generated: false, actual: 'no error', expects: 'PolicyError' });
}
