/**
 * JSON.parse for tests, typed as what the test expects to read (a saved plan, the state file, an API
 * reply): member access is then checked by the compiler, and the test's assertions check the values.
 */
export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}
