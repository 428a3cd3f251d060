import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on 127.0.0.1 and a random port: the base of the fake upstreams the tests and
 * benchmarks talk to. `url` is the API base (`http://127.0.0.1:<port>/v1`) once started.
 */
export abstract class LoopbackServer {
  private server?: http.Server;
  url = '';
  /** The request line of every request received, whatever the route (method and raw path). */
  readonly requestLines: string[] = [];

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.requestLines.push(`${req.method} ${req.url}`);
      this.handle(req, res).catch(() => res.destroy());
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

export async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** One recorded request to a fake upstream. */
export interface RecordedCall {
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

/**
 * A fake upstream whose answers tests script: `queue` holds behaviors consumed one per call, then
 * `behavior` applies; every call is recorded in `calls`.
 */
export abstract class ScriptedUpstream<B extends object> extends LoopbackServer {
  readonly calls: RecordedCall[] = [];
  behavior: B = {} as B;
  /** Behaviors consumed one per call before `behavior` applies. */
  readonly queue: B[] = [];

  reset(): void {
    this.calls.length = 0;
    this.requestLines.length = 0;
    this.queue.length = 0;
    this.behavior = {} as B;
  }

  protected nextBehavior(): B {
    return this.queue.shift() ?? this.behavior;
  }
}
