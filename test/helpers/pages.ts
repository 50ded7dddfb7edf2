import type { FastifyInstance } from 'fastify';

/**
 * A browser without a browser: requests to the pages through `app.inject`, keeping cookies as a browser
 * would and sending each form back with the CSRF token of the last page read.
 */
export type PageRes = { status: number; html: string; headers: Record<string, unknown>; location?: string };

export function pageClient(app: FastifyInstance, defaults: Record<string, string> = {}) {
  const jar = new Map<string, string>();
  let lastToken: string | undefined;

  const remember = (setCookie: unknown) => {
    const lines = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
    for (const line of lines as string[]) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = decodeURIComponent(pair.slice(eq + 1).trim());
      const expired = attributes.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a),
      );
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  };

  const send = async (
    method: 'GET' | 'POST',
    url: string,
    options: { form?: Record<string, string>; headers?: Record<string, string>; csrf?: boolean } = {},
  ): Promise<PageRes> => {
    const form =
      options.form !== undefined
        ? new URLSearchParams({
            ...(options.csrf === false || !lastToken ? {} : { _csrf: lastToken }),
            ...options.form,
          }).toString()
        : undefined;
    const res = await app.inject({
      method,
      url,
      headers: {
        accept: 'text/html,application/xhtml+xml',
        ...defaults,
        ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ') } : {}),
        ...(form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...options.headers,
      },
      ...(form !== undefined ? { payload: form } : {}),
    });
    remember(res.headers['set-cookie']);
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
    if (token) lastToken = token;
    return {
      status: res.statusCode,
      html: res.body,
      headers: res.headers as Record<string, unknown>,
      location: res.headers.location as string | undefined,
    };
  };

  return {
    jar,
    get: (url: string, headers?: Record<string, string>) => send('GET', url, { headers }),
    post: (url: string, form: Record<string, string> = {}, options: { csrf?: boolean } = {}) =>
      send('POST', url, { form, ...options }),
  };
}

export type PageClient = ReturnType<typeof pageClient>;

/** The text of the page's first h1, without markup. */
export const h1 = (html: string) =>
  /<h1[^>]*>([\s\S]*?)<\/h1>/
    .exec(html)?.[1]
    .replace(/<[^>]+>/g, '')
    .trim();
