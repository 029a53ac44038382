import { createServer, type Server, type Socket } from 'node:net';
import { decodeViciPacket, encodeViciPacket, ViciFramer, ViciPacketType, type ViciPacket } from '../../../../src/backend/ipsec/vici-protocol.js';

/**
 * A stand-in charon on a unix socket: records every packet it gets (raw body) and answers with
 * what `reply` writes (by default a successful CMD_RESPONSE).
 */
export class ViciStandIn {
  readonly received: Buffer[] = [];
  reply: (p: ViciPacket, sock: Socket) => void = (_p, sock) => sock.write(encodeViciPacket(ViciPacketType.CMD_RESPONSE, undefined, { success: 'yes' }));
  private server: Server | undefined;
  constructor(readonly path: string) {}
  async start(): Promise<void> {
    this.server = createServer((sock) => {
      const framer = new ViciFramer();
      sock.on('data', (chunk: Buffer) => {
        for (const body of framer.push(chunk)) {
          this.received.push(Buffer.from(body));
          this.reply(decodeViciPacket(body), sock);
        }
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.path, resolve));
  }
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
