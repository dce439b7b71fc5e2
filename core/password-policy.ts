/**
 * What a new password must be, wherever one is set (admin create and reset, the user's own change,
 * the first sign-in's change, scripts/create-admin.ts): at least 12 characters, not only blanks, not
 * containing the account's email or its name part, and not guessable — zxcvbn's estimate (common and
 * breached-list passwords, dictionary words, keyboard walks, repeats) must reach score 3, i.e. at
 * least 10^8 guesses.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';
import { InputError } from './errors.ts';

export const MIN_PASSWORD_LENGTH = 12;
const MIN_SCORE = 3;
/**
 * zxcvbn's matching grows faster than the password: 1,024 repeated characters took 4 s on the API's
 * event loop, which any signed-in user could send. It judges the first 64 characters; a password
 * whose first 64 are guessable is refused, and the rest of a long passphrase only adds to it.
 */
const ESTIMATED_LENGTH = 64;

let zxcvbn: ZxcvbnFactory | undefined;
// Built on first use: the dictionaries cost a few MB that a process which never sets a password need not hold.
const estimator = () =>
  (zxcvbn ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
  }));

/** Why `password` is not acceptable for the account `email`, or null when it is. */
export function passwordProblem(password: string, email: string): string | null {
  if (password.trim() === '') return 'must not be only spaces';
  if ([...password].length < MIN_PASSWORD_LENGTH) return `at least ${MIN_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  const address = email.trim().toLowerCase();
  const name = address.split('@')[0] ?? '';
  if (address && (lower.includes(address) || (name.length >= 4 && lower.includes(name)))) return 'must not contain your email address';
  const result = estimator().check(password.slice(0, ESTIMATED_LENGTH), [address, name]);
  if (result.score < MIN_SCORE) {
    const hint = result.feedback.warning ?? 'easy to guess';
    return `too easy to guess: ${hint.replace(/\.$/, '')}. Use a longer passphrase of unrelated words`;
  }
  return null;
}

/** Throws a 400 naming `field` when the password is not acceptable. */
export function assertAcceptablePassword(password: string, email: string, field: string): void {
  const problem = passwordProblem(password, email);
  if (problem) throw new InputError('the password is not acceptable', [{ field, message: problem }]);
}
