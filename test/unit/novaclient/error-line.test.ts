// src/common/error-line.ts: the one line every CLI prints for an error its command did not
// handle. Upstream exceptions keep their class; an error the JavaScript engine raised is
// named as novasim's bug, never passed off as an answer of the cloud.
import { describe, expect, it } from 'vitest';
import { errorLine, formatErrorLine } from '../../../src/common/error-line.js';
import { CommandError as SimCommandError, SimError } from '../../../src/common/errors.js';
import { CommandError } from '../../../src/novaclient/exceptions.js';
import { LibvirtError, VIR_ERR } from '../../../src/libvirt/errors.js';

describe('errorLine', () => {
  it("an upstream exception keeps its class: SimError's kind, novaclient's exceptions, libvirtError", () => {
    expect(formatErrorLine(new SimError('InvalidVolume', 'Invalid volume: busy'))).toBe('ERROR (InvalidVolume): Invalid volume: busy\n');
    expect(formatErrorLine(new SimCommandError('no such server'))).toBe('ERROR (CommandError): no such server\n');
    expect(formatErrorLine(new CommandError("No server with a name or ID of 'x' exists."))).toBe("ERROR (CommandError): No server with a name or ID of 'x' exists.\n");
    const e = errorLine(new LibvirtError(VIR_ERR.OPERATION_INVALID, 'domain is not running'));
    expect(e).toEqual({ cls: 'libvirtError', msg: 'Requested operation is not valid: domain is not running', internal: false });
  });

  it('a TypeError, RangeError or plain Error of the engine is named as a bug of novasim', () => {
    for (const err of [new TypeError("Cannot read properties of undefined (reading 'id')"), new RangeError('Invalid array length'), new Error('boom')]) {
      const line = errorLine(err);
      expect(line.internal).toBe(true);
      expect(line.cls).toBe('InternalError');
      expect(line.msg).toBe(`novasim failed unexpectedly (${err.name}: ${err.message}); this is a bug of novasim, not an answer of the cloud`);
    }
  });

  it('a subclass of Error that names itself is ours, not the engine\'s', () => {
    class KeyError extends Error {
      constructor(key: string) {
        super(`'${key}'`);
        this.name = 'KeyError';
      }
    }
    expect(errorLine(new KeyError('flavor'))).toEqual({ cls: 'KeyError', msg: "'flavor'", internal: false });
    class Quiet extends Error {}
    expect(errorLine(new Quiet('x')).internal).toBe(false);
  });

  it('something thrown that is not an Error', () => {
    expect(formatErrorLine('text')).toBe('ERROR (Exception): text\n');
  });
});
