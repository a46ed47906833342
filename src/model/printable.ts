/**
 * Control characters (C0, DEL, C1), Unicode direction controls and the line and paragraph
 * separators, which a terminal, a pull-request comment or a YAML file would act on rather
 * than show.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from outside callform (NXCloud's answers: IDs, names, retMsg) as it may be shown:
 * each control character written as a \uXXXX escape. A hostile or broken answer can then
 * neither recolour nor rewrite the terminal, nor add lines to a plan comment or to the task
 * file `import` writes. Values are kept exact everywhere else (the state, JSON output).
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
