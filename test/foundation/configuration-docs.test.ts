import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

/** Every setting the service reads is documented where people look: .env.example and the README's table. */
describe('the configuration documents', () => {
  const keys = [...readFileSync('src/config.ts', 'utf8').matchAll(/^ {2}([A-Z][A-Z0-9_]+): /gm)].map(
    (m) => m[1],
  );

  it('name every variable src/config.ts reads', () => {
    expect(keys.length).toBeGreaterThan(40);
    const example = readFileSync('.env.example', 'utf8');
    const readme = readFileSync('README.md', 'utf8');
    expect(keys.filter((k) => !new RegExp(`^#? ?${k}=`, 'm').test(example))).toEqual([]);
    expect(keys.filter((k) => !readme.includes(`\`${k}\``))).toEqual([]);
  });
});
