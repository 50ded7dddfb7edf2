import http from 'node:http';
import https from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { guardedLookup, RefusedTarget, refusalOfLiteralHost, type TargetPolicy } from './targets.ts';

/** What is kept of an answer: its status and a short error; never its body. */
export type SendOutcome = { status: number | null; error: string | null };

/** The most of an answer's body read (and thrown away) before the connection is dropped. */
export const MAX_DISCARDED_BODY_BYTES = 64 * 1024;

const MAX_ERROR_LENGTH = 500;

// One pair of agents per policy. The filtering agent checks again, at connect time, what the
// guarded lookup let through (and IP-literal hosts, which need no lookup).
const agents = new Map<boolean, { http: http.Agent; https: https.Agent }>();
function agentsFor(allowPrivateTargets: boolean) {
  let pair = agents.get(allowPrivateTargets);
  if (!pair) {
    const options = { allowPrivateIPAddress: allowPrivateTargets, allowMetaIPAddress: false };
    pair = { http: new RequestFilteringHttpAgent(options), https: new RequestFilteringHttpsAgent(options) };
    agents.set(allowPrivateTargets, pair);
  }
  return pair;
}

/**
 * POSTs a webhook body over node:http(s). Only public addresses are connected to (see targets.ts),
 * redirects are not followed (a 3xx is a failed attempt), and the answer's body is read up to a bound
 * and discarded. The whole exchange has `timeoutMs`.
 */
export function postWebhook(
  target: string,
  headers: Record<string, string>,
  body: string,
  options: TargetPolicy & { timeoutMs: number },
): Promise<SendOutcome> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return Promise.resolve({ status: null, error: 'Not a valid URL' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return Promise.resolve({ status: null, error: 'Refused: not an http or https URL' });
  const literalRefusal = refusalOfLiteralHost(url, options);
  if (literalRefusal) return Promise.resolve({ status: null, error: `Refused: ${literalRefusal}` });

  const pair = agentsFor(options.allowPrivateTargets);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const outcomeOf = (status: number): SendOutcome => {
      if (status >= 200 && status < 300) return { status, error: null };
      if (status >= 300 && status < 400)
        return { status, error: `HTTP ${status}: redirects are not followed` };
      return { status, error: `HTTP ${status}` };
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: url.protocol === 'https:' ? pair.https : pair.http,
        lookup: guardedLookup(options),
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (response) => {
        const outcome = outcomeOf(response.statusCode ?? 0);
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_DISCARDED_BODY_BYTES) {
            response.destroy();
            settle(outcome);
          }
        });
        // The status decides; an answer cut short (timeout, reset) after it does not change it.
        response.on('end', () => settle(outcome));
        response.on('close', () => settle(outcome));
        response.on('error', () => settle(outcome));
      },
    );
    request.on('error', (err) => settle({ status: null, error: errorText(err, options.timeoutMs) }));
    request.end(body);
  });
}

function errorText(err: Error, timeoutMs: number): string {
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return `No answer within ${timeoutMs} ms`;
  // Several addresses tried in turn fail together: their first error says most.
  const cause = err instanceof AggregateError && !err.message ? (err.errors[0] as Error) : err;
  const message = cause?.message || (cause as NodeJS.ErrnoException)?.code || String(err);
  // The filtering agent's refusals say "… is not allowed".
  const refused = cause instanceof RefusedTarget || /is not allowed/.test(message);
  return (refused ? `Refused: ${message}` : message).slice(0, MAX_ERROR_LENGTH);
}
