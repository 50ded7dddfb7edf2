import type { FastifySerializerCompiler } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';

/**
 * Serialises a route's successful answer with JSON.stringify alone, without zod checking it against
 * its schema first: for the application's and the award's views, built field by field from typed
 * values, where that check cost a sizeable share of a read (see bench/README.md). Any other status
 * (problems) keeps the checking serializer, and the tests still check every answer against the
 * OpenAPI document.
 */
export function uncheckedSuccessSerializer<T>(
  route: Parameters<FastifySerializerCompiler<T>>[0],
): ReturnType<FastifySerializerCompiler<T>> {
  if (/^2\d\d$/.test(String(route.httpStatus))) return (data: unknown) => JSON.stringify(data);
  return serializerCompiler(route as Parameters<typeof serializerCompiler>[0]);
}
