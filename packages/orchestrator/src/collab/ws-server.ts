import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { CollaborationManager } from './manager.js';
import type { Authenticate, CollabConfigInput, CollaborationManagerOptions, Role } from './types.js';

// The WebSocket endpoint: attaches to any Node http.Server (`noServer` upgrade handling) under a path prefix;
// `<path>/<workflowId>?token=…` is what a stock y-websocket WebsocketProvider requests.

/** Options of the collaboration WebSocket endpoint: mount path, authentication, frame size and ping interval. */
export interface CollabWebSocketOptions {
  /** Mount prefix (default `/collab`). Upgrades outside it are left to other listeners. */
  path?: string;
  /** Resolve a token to a user; returning null refuses the upgrade with 401. The token is never logged. */
  authenticate: Authenticate;
  /** Frames above this size close the socket with 1009 (default 16 MiB). */
  maxMessageBytes?: number;
  /** WebSocket ping interval to drop dead peers (default 30 s). */
  pingIntervalMs?: number;
}

/** The attached collaboration WebSocket server and a function that closes it. */
export interface CollabWebSocketHandle {
  wss: WebSocketServer;
  close(): Promise<void>;
}

/** Serves the Yjs collaboration protocol on an HTTP server's WebSocket upgrades at a path. */
export function attachCollabWebSocket(
  server: Server,
  manager: CollaborationManager,
  opts: CollabWebSocketOptions,
): CollabWebSocketHandle {
  const prefix = (opts.path ?? '/collab').replace(/\/+$/, '');
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxMessageBytes ?? 16 * 1024 * 1024,
    perMessageDeflate: false,
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith(`${prefix}/`)) return;
    const workflowId = safeDecode(url.pathname.slice(prefix.length + 1));
    if (!workflowId || workflowId.includes('/') || workflowId.length > 200) return refuse(socket, 400, 'Bad Request');
    const token = url.searchParams.get('token') ?? undefined;
    Promise.resolve()
      .then(() => opts.authenticate(token, workflowId))
      .then(
        (identity) => {
          if (!identity?.userId) return refuse(socket, 401, 'Unauthorized');
          wss.handleUpgrade(req, socket, head, (ws) => accept(ws, manager, workflowId, identity));
        },
        () => refuse(socket, 401, 'Unauthorized'),
      );
  };
  server.on('upgrade', onUpgrade);

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      const w = ws as Tracked;
      if (w[ALIVE] === false) ws.terminate();
      else {
        w[ALIVE] = false;
        ws.ping();
      }
    }
  }, opts.pingIntervalMs ?? 30_000);
  pinger.unref();

  return {
    wss,
    close: async () => {
      clearInterval(pinger);
      server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

// Per-socket state lives on the socket and its listeners are shared functions: a closure per socket created in
// the upgrade handler would keep that request (headers, URL) alive for the whole connection.
const ALIVE = Symbol('alive');
type Tracked = WebSocket & { [ALIVE]?: boolean };
function onPong(this: WebSocket): void {
  (this as Tracked)[ALIVE] = true;
}
function onSocketError(this: WebSocket): void {
  this.terminate();
}
function accept(
  ws: WebSocket,
  manager: CollaborationManager,
  workflowId: string,
  identity: { userId: string; role?: Role },
): void {
  (ws as Tracked)[ALIVE] = true;
  ws.on('pong', onPong);
  ws.on('error', onSocketError);
  // connect() settles every refusal by closing this socket; anything else is a bug, kept to this socket too.
  manager.connect(ws, workflowId, { userId: identity.userId, role: identity.role }).catch(() => ws.terminate());
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/**
 * Development-only authenticator: the token is `userId` or `userId:role`. Never use it where tokens matter.
 */
export const insecureDevAuthenticate: Authenticate = (token) => {
  if (!token) return null;
  const [userId, role] = token.split(':');
  return { userId, role: role === 'owner' || role === 'editor' || role === 'viewer' ? (role as Role) : undefined };
};

/** Options of a standalone collaboration server: listen address, manager (or its config) and endpoint options. */
export interface StartCollabServerOptions extends Partial<CollabWebSocketOptions> {
  port?: number;
  host?: string;
  manager?: CollaborationManager;
  config?: CollabConfigInput;
  managerOptions?: CollaborationManagerOptions;
}

/** A standalone HTTP server with only the collaboration endpoint (port 0 picks a free port). */
export async function startCollabServer(opts: StartCollabServerOptions = {}): Promise<{
  server: Server;
  manager: CollaborationManager;
  port: number;
  url: string;
  close(): Promise<void>;
}> {
  const manager = opts.manager ?? new CollaborationManager(opts.config, opts.managerOptions);
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket endpoint: connect to /collab/<workflowId>');
  });
  const handle = attachCollabWebSocket(server, manager, {
    ...opts,
    authenticate: opts.authenticate ?? insecureDevAuthenticate,
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((r) => server.listen(opts.port ?? 0, host, r));
  const port = (server.address() as { port: number }).port;
  const path = (opts.path ?? '/collab').replace(/\/+$/, '');
  return {
    server,
    manager,
    port,
    url: `ws://${host}:${port}${path}`,
    close: async () => {
      await handle.close();
      await new Promise<void>((r) => server.close(() => r()));
      if (!opts.manager) await manager.close();
    },
  };
}
