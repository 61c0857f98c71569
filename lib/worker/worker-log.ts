import type { WorkerLog } from '../public-types.js';

/** How a child worker marks a line of stderr that holds a log record (worker-python/snakepit_bridge/log_records.py). */
const LOG_PREFIX = 'SNAKEPIT_LOG ';

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * The log record a line of a worker's stderr holds, or undefined for any
 * other line (what a tool prints, a line cut short): those reach `onLog`
 * as they are.
 */
export function parseWorkerLog(line: string, workerId: string): WorkerLog | undefined {
  if (!line.startsWith(LOG_PREFIX)) return undefined;
  let fields: unknown;
  try {
    fields = JSON.parse(line.slice(LOG_PREFIX.length));
  } catch {
    return undefined;
  }
  if (typeof fields !== 'object' || fields === null) return undefined;
  const record = fields as Record<string, unknown>;
  const level = text(record.level);
  const logger = text(record.logger);
  const message = text(record.message);
  if (level === undefined || logger === undefined || message === undefined) return undefined;
  return {
    level,
    logger,
    message,
    callId: text(record.callId),
    tool: text(record.tool),
    workerId,
    traceId: text(record.traceId),
    time: typeof record.time === 'number' ? record.time : Date.now(),
  };
}

/** A record as one text for `onLog`, as the worker used to write it: time, level, worker, logger, message. */
export function formatWorkerLog(log: WorkerLog): string {
  const call = log.callId === undefined ? '' : ` [call=${log.callId}${log.traceId === undefined ? '' : ` trace=${log.traceId}`}]`;
  return `${new Date(log.time).toISOString()} ${log.level} [${log.workerId}]${call} ${log.logger}: ${log.message}`;
}
