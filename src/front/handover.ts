/**
 * Connections the front does not serve itself go to Bun's HTTP server (listening on loopback)
 * whole: the bytes read so far, then both directions piped until either side closes. Bun's
 * server sees the front as its peer, so the front records which client each piped connection
 * carries and clientAddress() asks here.
 */
import type { Socket } from "bun";
import { Outbox } from "./outbox.ts";

const peers = new Map<number, string>();

/** The client behind a connection the front handed over, by the port it reaches Bun's server from. */
export function handedOverPeer(port: number): string | undefined {
  return peers.get(port);
}

export class HandOver {
  private internal: Socket<undefined> | null = null;
  private toInternal: Outbox | null = null;
  private readonly early: Uint8Array[] = [];
  private readonly toClient: Outbox;
  private closed = false;
  private internalPort = 0;

  constructor(
    private readonly client: Socket<any>,
    first: Uint8Array,
    port: number,
    address: string,
  ) {
    this.toClient = new Outbox(client);
    this.early.push(first);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, chunk) => {
          if (!this.toClient.write(chunk)) this.internal?.pause();
        },
        drain: () => {
          if (this.toInternal?.drain()) this.client.resume();
        },
        close: () => this.close(),
        error: () => this.close(),
      },
    }).then(
      (socket) => {
        if (this.closed) return socket.terminate();
        this.internal = socket;
        this.internalPort = socket.localPort;
        peers.set(this.internalPort, address);
        this.toInternal = new Outbox(socket);
        for (const bytes of this.early.splice(0)) this.fromClient(bytes);
      },
      () => this.close(),
    );
  }

  fromClient(chunk: Uint8Array): void {
    if (!this.toInternal) {
      this.early.push(chunk);
      return;
    }
    if (!this.toInternal.write(chunk)) this.client.pause();
  }

  clientDrained(): void {
    if (!this.toClient.drain()) return;
    if (this.closed) this.client.end();
    else this.internal?.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.internal) {
      peers.delete(this.internalPort);
      this.internal.end();
    }
    // What Bun's server sent last may still wait for the client to read it.
    if (this.toClient.idle) this.client.end();
  }
}
