// src/common/log.ts: a log call never fails its caller. A sink that throws (a log file on a
// full disk, a closed stderr) is dropped; the other sinks still get the record.
import { describe, expect, it } from 'vitest';
import { addLogSink, getLogger, type LogRecord } from '../../../src/common/log.js';

describe('Logger', () => {
  it('a sink that throws does not escape the log call, is dropped, and the other sinks still get every record', () => {
    const LOG = getLogger('nova.compute.manager', 'nova-compute');
    const got: string[] = [];
    let thrown = 0;
    const removeBad = addLogSink(() => {
      thrown++;
      throw Object.assign(new Error('write failed'), { code: 'ENOSPC' });
    });
    const removeGood = addLogSink((r: LogRecord) => got.push(r.message));
    try {
      expect(() => LOG.info('Swapping volume a for b')).not.toThrow();
      expect(() => LOG.exception('failed', new TypeError('x'))).not.toThrow();
      expect(got).toEqual(['Swapping volume a for b', 'failed']);
      expect(thrown).toBe(1);
    } finally {
      removeBad();
      removeGood();
    }
  });
});
