import { describe, it, expect } from 'vitest';
import { colorsFor } from '../../src/render/colors.js';

const on = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, override?: boolean) =>
  colorsFor(stream, env, override).red('x') !== 'x';

describe('colorsFor', () => {
  it.each([
    ['0', false],
    ['false', false],
    ['FALSE', false],
    ['1', true],
    ['2', true],
    ['true', true],
    ['', true],
  ])('FORCE_COLOR=%j off a terminal → colours %s', (value, expected) => {
    expect(on({ isTTY: false }, { FORCE_COLOR: value })).toBe(expected);
  });

  it('FORCE_COLOR=0 turns them off on a terminal too; unset follows the terminal', () => {
    expect(on({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
    expect(on({ isTTY: true }, {})).toBe(true);
    expect(on({ isTTY: false }, {})).toBe(false);
  });

  it('NO_COLOR and --no-color win', () => {
    expect(on({ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(on({ isTTY: true }, { FORCE_COLOR: '1' }, false)).toBe(false);
  });
});
