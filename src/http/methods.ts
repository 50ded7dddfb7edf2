import type { FastifyInstance } from 'fastify';
import FindMyWay from 'find-my-way';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Which methods a path supports, for the 405 answer (SPEC §5): a known path asked with another method
 * answers 405 with `Allow`, not 404. Fastify's own router only says "no route", so the routes are
 * mirrored, as they are added, into a router that answers this one question.
 */
export function trackAllowedMethods(app: FastifyInstance): (url: string) => string[] {
  const router = FindMyWay({ ignoreTrailingSlash: false });
  const added = new Set<string>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      const key = `${method} ${route.url}`;
      // A catch-all (the pages' browser 404) says nothing about which methods a path supports.
      if (added.has(key) || route.url.includes('*') || !(METHODS as readonly string[]).includes(method))
        continue;
      added.add(key);
      router.on(method as (typeof METHODS)[number], route.url, () => {});
    }
  });
  return (url) => {
    const path = url.split('?')[0];
    return METHODS.filter((method) => router.find(method, path) !== null);
  };
}

/** The path is known but not for this method (otherwise the answer is a plain 404). */
export function methodNotAllowed(allowed: string[], method: string): boolean {
  return allowed.length > 0 && !allowed.includes(method);
}
