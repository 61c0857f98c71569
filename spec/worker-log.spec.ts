import { describe, expect, it } from 'vitest';
import { formatWorkerLog, parseWorkerLog } from '../lib/worker/worker-log.js';

const RECORD = {
  level: 'ERROR',
  logger: 'my_tools',
  message: 'failed\nTraceback (most recent call last):',
  time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  callId: 'abc-1',
  tool: 'train',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
};

describe('a worker stderr line', () => {
  it('holding a record is the record, with the worker that wrote it', () => {
    expect(parseWorkerLog(`SNAKEPIT_LOG ${JSON.stringify(RECORD)}`, 'worker-2')).toEqual({ ...RECORD, workerId: 'worker-2' });
  });

  it('of a record made outside a call has no call, tool or trace', () => {
    const { level, logger, message, time } = RECORD;
    expect(parseWorkerLog(`SNAKEPIT_LOG ${JSON.stringify({ level, logger, message, time })}`, 'w')).toEqual({
      level,
      logger,
      message,
      time,
      callId: undefined,
      tool: undefined,
      traceId: undefined,
      workerId: 'w',
    });
  });

  it.each([
    ['a printed line', 'hello from a tool'],
    ['a line cut short', `SNAKEPIT_LOG ${JSON.stringify(RECORD).slice(0, 40)}`],
    ['a record without a message', `SNAKEPIT_LOG ${JSON.stringify({ level: 'INFO', logger: 'x' })}`],
    ['JSON that is not an object', 'SNAKEPIT_LOG "text"'],
  ])('that is %s is no record: onLog gets it as it is', (_, line) => {
    expect(parseWorkerLog(line, 'w')).toBeUndefined();
  });

  it('formats a record for onLog as the worker used to write it, with the call and its trace', () => {
    expect(formatWorkerLog({ ...RECORD, workerId: 'worker-2' })).toBe(
      '2026-01-02T03:04:05.678Z ERROR [worker-2] [call=abc-1 trace=4bf92f3577b34da6a3ce929d0e0e4736] my_tools: ' +
        'failed\nTraceback (most recent call last):',
    );
  });
});
