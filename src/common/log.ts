// oslo.log for the embedded services: each layer logs under its upstream logger name
// (nova.compute.manager, nova.virt.libvirt.driver …) and its service. Records go to the sinks
// whoever hosts the services adds: the embedded cloud (src/cloud/embedded.ts) writes every
// record to its service's file under <state>.images/logs/ (src/common/log-files.ts), and
// `nova --debug` also prints them on stderr (src/novaclient/shell.ts). With no sink, a record
// is dropped.
import { currentContext, type RequestContext } from './context.js';

export type Level = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export interface LogRecord {
  time: Date;
  pid: number;
  level: Level;
  logger: string;
  /** which embedded service wrote it (names its log file): nova-api, nova-compute, cinder-api,
   * cinder-volume, libvirtd, qemu-monitor, qemu */
  service: string;
  message: string;
  context?: RequestContext;
  instance?: string;
  /** the exception text logged with LOG.exception */
  exception?: string;
}

export type LogSink = (rec: LogRecord) => void;

const sinks = new Set<LogSink>();

export function addLogSink(sink: LogSink): () => void {
  sinks.add(sink);
  return () => sinks.delete(sink);
}

export interface LogExtra {
  context?: RequestContext;
  instance?: string;
}

export class Logger {
  constructor(readonly name: string, readonly service: string) {}

  private emit(level: Level, message: string, extra?: LogExtra, exception?: string): void {
    if (sinks.size === 0) return;
    const rec: LogRecord = {
      time: new Date(),
      pid: process.pid,
      level,
      logger: this.name,
      service: this.service,
      message,
      context: extra?.context ?? currentContext.getStore(),
      instance: extra?.instance,
      exception,
    };
    // a log call never fails its caller (the swap path logs at every step): a sink that
    // throws is dropped, as Python's logging drops a record a handler cannot emit
    for (const s of sinks) {
      try {
        s(rec);
      } catch {
        sinks.delete(s);
      }
    }
  }

  debug(message: string, extra?: LogExtra): void {
    this.emit('DEBUG', message, extra);
  }
  info(message: string, extra?: LogExtra): void {
    this.emit('INFO', message, extra);
  }
  warning(message: string, extra?: LogExtra): void {
    this.emit('WARNING', message, extra);
  }
  error(message: string, extra?: LogExtra): void {
    this.emit('ERROR', message, extra);
  }
  /** LOG.exception: an ERROR record carrying the exception being handled */
  exception(message: string, err: unknown, extra?: LogExtra): void {
    const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.emit('ERROR', message, extra, text);
  }
}

export function getLogger(name: string, service: string): Logger {
  return new Logger(name, service);
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** oslo.log's default format:
 * 2016-05-03 10:00:00.123 4242 INFO nova.compute.manager [req-… user project] [instance: …] msg */
export function formatOslo(rec: LogRecord): string {
  const t = rec.time;
  const ts =
    `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ` +
    `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`;
  const ctx = rec.context ? `[${rec.context.requestId} ${rec.context.userId} ${rec.context.projectId}] ` : '[-] ';
  const inst = rec.instance ? `[instance: ${rec.instance}] ` : '';
  let line = `${ts} ${rec.pid} ${rec.level} ${rec.logger} ${ctx}${inst}${rec.message}`;
  if (rec.exception) line += `\n${ts} ${rec.pid} ERROR ${rec.logger} ${inst}${rec.exception}`;
  return line;
}
