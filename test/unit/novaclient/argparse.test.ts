// argparse behaviour novaclient users see: wrapping (textwrap breaks after hyphens),
// option prefixes, nargs, and error texts.
import { describe, expect, it } from 'vitest';
import { EarlyExit, formatError, formatHelp, parseKnownArgs, UsageError, type ParserSpec } from '../../../src/novaclient/argparse.js';
import { wrap } from '../../../src/novaclient/textwrap.js';

const spec: ParserSpec = {
  prog: 'nova demo',
  description: 'Demo.',
  args: [
    { flags: ['-h', '--help'], dest: 'help', action: 'help', help: null },
    { flags: ['--flavor'], dest: 'flavor', metavar: '<flavor>', default: null, help: 'Flavor.' },
    { flags: ['--fields'], dest: 'fields', metavar: '<fields>', default: null, help: 'Fields.' },
    { flags: ['--all-tenants'], dest: 'all_tenants', metavar: '<0|1>', nargs: '?', type: 'int', const: 1, default: 0, help: 'All.' },
    { flags: ['--meta'], dest: 'meta', metavar: '<key=value>', action: 'append', default: [], help: 'Meta.' },
    { dest: 'server', metavar: '<server>', nargs: '+', help: 'Servers.' },
  ],
};

describe('textwrap', () => {
  it('breaks after a hyphen inside a word, as Python does', () => {
    expect(wrap("Image metadata property (see 'nova image-show').", 46)).toEqual(["Image metadata property (see 'nova image-", "show')."]);
  });
  it('keeps words whole otherwise', () => {
    expect(wrap('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
  });
});

describe('parsing', () => {
  it('options anywhere, unique prefixes, --opt=value, append, nargs ? with a value or its const', () => {
    const r = parseKnownArgs(spec, ['--fla', 'm1', 'a', '--meta=k=v', '--meta', 'x=y', 'b', '--all-tenants']);
    expect(r.ns).toMatchObject({ flavor: 'm1', meta: ['k=v', 'x=y'], all_tenants: 1, server: ['a', 'b'] });
    expect(parseKnownArgs(spec, ['--all-tenants', '0', 'a']).ns.all_tenants).toBe(0);
    // like argparse, nargs='?' takes the next word even when a positional was meant
    expect(() => parseKnownArgs(spec, ['--all-tenants', 'a'])).toThrow("argument --all-tenants: invalid int value: 'a'");
  });

  it('an ambiguous prefix', () => {
    expect(() => parseKnownArgs(spec, ['--f', 'x', 'a'])).toThrow(new UsageError(spec, 'ambiguous option: --f could match --flavor, --fields'));
  });

  it('missing positionals, missing option values, bad ints', () => {
    expect(() => parseKnownArgs(spec, [])).toThrow('the following arguments are required: <server>');
    expect(() => parseKnownArgs(spec, ['a', '--flavor'])).toThrow('argument --flavor: expected one argument');
    expect(() => parseKnownArgs(spec, ['a', '--all-tenants', 'x'])).toThrow("argument --all-tenants: invalid int value: 'x'");
  });

  it('unknown options are left for the main parser to report', () => {
    expect(parseKnownArgs(spec, ['a', '--bogus']).extras).toEqual(['--bogus']);
  });

  it('-h prints the help', () => {
    expect(() => parseKnownArgs(spec, ['-h'])).toThrow(EarlyExit);
  });

  // expected texts produced by CPython 3.11's argparse with the same parser
  it('errors: usage, error line, and novaclient\'s hint', () => {
    expect(formatError(spec, 'boom', 78)).toBe(
      'usage: nova demo [--flavor <flavor>] [--fields <fields>]\n' +
        '                 [--all-tenants [<0|1>]] [--meta <key=value>]\n' +
        '                 <server> [<server> ...]\n' +
        "error: boom\nTry 'nova help demo' for more information.\n",
    );
  });

  it('help sections are title-cased and hidden options stay hidden', () => {
    const help = formatHelp(spec, 78);
    expect(help).toContain('\nPositional arguments:\n  <server>               Servers.\n');
    expect(help).toContain('\nOptions:\n  --flavor <flavor>      Flavor.\n  --fields <fields>      Fields.\n  --all-tenants [<0|1>]  All.\n');
    expect(help).not.toContain('--help');
  });
});
