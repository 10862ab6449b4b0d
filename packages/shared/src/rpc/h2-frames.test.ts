// readSettings: the SETTINGS reader the client (h2-connection.ts) and the server (h2-session.ts) share.
import { describe, expect, it } from 'vitest';
import {
  ConnectionError,
  ErrorCode,
  readSettings,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_FRAME_SIZE,
} from './h2-frames.js';

const payload = (...entries: [number, number][]) => {
  const b = Buffer.alloc(entries.length * 6);
  entries.forEach(([k, v], i) => {
    b.writeUInt16BE(k, i * 6);
    b.writeUInt32BE(v, i * 6 + 2);
  });
  return b;
};
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof ConnectionError ? { code: e.code, message: e.message } : { thrown: String(e) };
  }
  return undefined;
};

describe('readSettings', () => {
  it('reads the frame size and the initial window; the last entry of a key wins; other keys are ignored', () => {
    expect(readSettings(Buffer.alloc(0))).toEqual({});
    expect(
      readSettings(
        payload(
          [SETTINGS_MAX_FRAME_SIZE, 32_768],
          [SETTINGS_HEADER_TABLE_SIZE, 0],
          [SETTINGS_INITIAL_WINDOW_SIZE, 10],
          [0x99, 7],
          [SETTINGS_ENABLE_PUSH, 0],
          [SETTINGS_INITIAL_WINDOW_SIZE, 2 ** 31 - 1],
        ),
      ),
    ).toEqual({ maxFrame: 32_768, initialWindow: 2 ** 31 - 1 });
  });

  it('refuses values RFC 9113 §6.5.2 forbids, with the connection error code it names', () => {
    expect(codeOf(() => readSettings(payload([SETTINGS_MAX_FRAME_SIZE, 16_383])))).toEqual({
      code: ErrorCode.PROTOCOL_ERROR,
      message: 'SETTINGS_MAX_FRAME_SIZE 16383 out of range',
    });
    expect(codeOf(() => readSettings(payload([SETTINGS_MAX_FRAME_SIZE, 2 ** 24])))).toMatchObject({
      code: ErrorCode.PROTOCOL_ERROR,
    });
    expect(codeOf(() => readSettings(payload([SETTINGS_INITIAL_WINDOW_SIZE, 2 ** 31])))).toEqual({
      code: ErrorCode.FLOW_CONTROL_ERROR,
      message: 'SETTINGS_INITIAL_WINDOW_SIZE 2147483648 over 2^31-1',
    });
    expect(codeOf(() => readSettings(payload([SETTINGS_ENABLE_PUSH, 2])))).toMatchObject({
      code: ErrorCode.PROTOCOL_ERROR,
    });
  });
});
