/**
 * Server lifecycle: listening, tracking open sockets and pending timers, and a close()
 * that ends all of them promptly (keep-alive connections, held timeout faults, latency
 * waits) and is safe to call twice.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Idle keep-alive sockets are kept this long (node's default is 5 s). Clients close idle
 * sockets after their own, shorter timeout (undici: a few seconds), so with a long server
 * timeout the client always closes first; with 5 s on both sides a busy machine races
 * them and a request sent on a closing socket fails with ECONNRESET. close() still ends
 * every socket at once.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export class ServerLifecycle {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed: Promise<void> | undefined;

  /** True once close() was called: work still in flight should stop without answering. */
  get closing(): boolean {
    return this.closed !== undefined;
  }

  /** setTimeout that close() cancels. */
  setTimer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  clearTimer(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.timers.delete(t);
  }

  /** A wait that close() cuts short (the promise then never settles; callers check `closing`). */
  delay(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(resolve, ms));
  }

  /** Starts listening; resolves with the base URL (`http://host:port`). */
  async listen(listener: RequestListener, host: string, port: number): Promise<string> {
    const server = createServer({ keepAlive: true }, listener);
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    return `http://${urlHost}:${actualPort}`;
  }

  /** Cancels timers, stops listening and destroys every open socket. Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = new Promise<void>((resolve) => {
        for (const t of this.timers) clearTimeout(t);
        this.timers.clear();
        const server = this.server;
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of this.sockets) s.destroy();
        this.sockets.clear();
      });
    }
    return this.closed;
  }
}
