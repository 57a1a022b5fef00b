/**
 * An error about the user's input (a bad file, a bad parameter). The CLI prints its message as one
 * line and exits non-zero; anything else that is thrown is a bug. Messages name the file and the
 * problem, e.g. `N40E014.hgt: expected 2884802 bytes (1201x1201 int16), got 1000`.
 */
export class InputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InputError';
  }
}

/** True for an InputError (also across module copies, by name). */
export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError || (e instanceof Error && e.name === 'InputError');
}
