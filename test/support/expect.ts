import { expect } from 'vitest';

/** vitest types its asymmetric matchers as `any`: these say what each one stands for. */
export const anyNumber = (): number => expect.any(Number) as number;
export const matching = (pattern: string | RegExp): string => expect.stringMatching(pattern) as string;
