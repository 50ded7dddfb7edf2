import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceivedRequest = { method: string; headers: IncomingMessage['headers']; body: string };

/** How the receiver answers: a status, headers and body; or, with `hang`, never. */
export type Answer = {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  hang?: boolean;
};

export type Receiver = {
  /** `http://127.0.0.1:<port>/hooks` */
  url: string;
  port: number;
  received: ReceivedRequest[];
  answer: Answer;
  close(): Promise<void>;
};

/** A webhook receiver on loopback that records what reaches it and answers as `answer` says. */
export async function startReceiver(answer: Answer = { status: 204 }): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const state = { answer };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const { status, headers, body, hang } = state.answer;
      if (hang) return;
      // The client may hang up before a long body is written.
      res.on('error', () => {});
      res.writeHead(status, headers).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    get answer() {
      return state.answer;
    },
    set answer(next: Answer) {
      state.answer = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
