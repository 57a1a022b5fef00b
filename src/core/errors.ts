/**
 * An error about the user's input (a bad file, a bad parameter): the one error type at the
 * library's boundary. The CLI prints its message as one line and exits with status 2; anything
 * else that is thrown is a bug. Messages name the file or the option (not a command-line flag) and
 * the problem, e.g. `N40E014.hgt: expected 2884802 bytes (1201x1201 int16), got 1000`.
 * It is a RangeError (a value out of its range), so code that validates parameters with it can
 * still be caught as one. The message is always one line: line breaks (e.g. quoted from a parser
 * or a library) and the blanks around them become one space.
 */
export class InputError extends RangeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(oneLineMessage(message), options);
    this.name = 'InputError';
  }
}

/** `message` with every line break (and the blanks around it) replaced by one space. */
export function oneLineMessage(message: string): string {
  return String(message).replace(/[ \t]*[\r\n\u2028\u2029]+[\s]*/g, ' ').trim();
}

/** True for an InputError (also across module copies, by name). */
export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError || (e instanceof Error && e.name === 'InputError');
}
