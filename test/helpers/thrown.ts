/** The error a synchronous call throws; fails the test when it throws nothing. */
export function thrownBy<T = Error>(run: () => unknown): T {
  try {
    run();
  } catch (error) {
    return error as T;
  }
  throw new Error('expected a failure');
}
