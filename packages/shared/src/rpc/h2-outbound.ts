// The sending half of ./h2-session.ts below the frame level: frames queued during one turn of the event loop
// (e.g. every reply of one group commit) are laid out in one buffer, each payload copied once, and leave in one
// socket write.
import type { Socket } from 'node:net';
import { writeFrameHeader } from './h2-frames.js';

export class FrameQueue {
  /** The payloads queued this turn, and type, flags, stream id of each frame (three numbers a frame). */
  private readonly payloads: Uint8Array[] = [];
  private readonly heads: number[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly flushLater = (): void => this.flush();

  constructor(
    private readonly socket: Socket,
    /** The connection is gone: nothing more is written. */
    private readonly dead: () => boolean,
  ) {}

  /** Queues a frame; `payload` is copied when the turn's frames are written, and must not change before. */
  push(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (this.dead()) return;
    this.heads.push(type, flags, id);
    this.payloads.push(payload);
    this.bytes += 9 + payload.length;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushLater);
    }
  }

  /** Writes what is queued now (also called directly before the socket is ended). */
  flush(): void {
    this.scheduled = false;
    if (this.dead() || this.payloads.length === 0) return;
    const buf = Buffer.allocUnsafe(this.bytes);
    let at = 0;
    for (let i = 0; i < this.payloads.length; i++) {
      const p = this.payloads[i] as Uint8Array;
      const h = 3 * i;
      writeFrameHeader(
        buf,
        at,
        p.length,
        this.heads[h] as number,
        this.heads[h + 1] as number,
        this.heads[h + 2] as number,
      );
      buf.set(p, at + 9);
      at += 9 + p.length;
    }
    this.clear();
    this.socket.write(buf);
  }

  /** Drops what is queued (the connection is gone). */
  clear(): void {
    this.payloads.length = 0;
    this.heads.length = 0;
    this.bytes = 0;
  }
}
