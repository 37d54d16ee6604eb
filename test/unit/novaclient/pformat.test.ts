// novaclient's do_instance_action prints the events with pprint.pformat: src/novaclient/pyfmt.ts
// pformat against what CPython 3.11's pprint.pformat printed for the same values (captured
// once with python3 -c 'import pprint, json; print(pprint.pformat(json.load(...)))').
import { describe, expect, it } from 'vitest';
import { pformat } from '../../../src/novaclient/pyfmt.js';
import { printDict } from '../../../src/novaclient/table.js';

const CASES: Array<[string, unknown, string]> = [
  ["one event: a dict per line, keys sorted", [{"event": "compute_stop_instance", "start_time": "2016-05-03T10:00:00.000000", "finish_time": "2016-05-03T10:00:01.000000", "result": "Success", "traceback": null}], "[{'event': 'compute_stop_instance',\n  'finish_time': '2016-05-03T10:00:01.000000',\n  'result': 'Success',\n  'start_time': '2016-05-03T10:00:00.000000',\n  'traceback': None}]"],
  ["a long traceback: split into adjacent literals at spaces", [{"event": "compute_pause_instance", "start_time": "2016-05-03T10:00:00.000000", "finish_time": "2016-05-03T10:00:01.000000", "result": "Error", "traceback": "  File \"/usr/lib/node_modules/novasim/dist/cli.js\", line 1234, in ComputeManager.power\n  File \"/usr/lib/node_modules/novasim/dist/cli.js\", line 99, in LibvirtDriver.pause\nlibvirt.libvirtError: Requested operation is not valid: domain is not running\n"}, {"event": "x", "start_time": null, "finish_time": null, "result": null, "traceback": "short"}], "[{'event': 'compute_pause_instance',\n  'finish_time': '2016-05-03T10:00:01.000000',\n  'result': 'Error',\n  'start_time': '2016-05-03T10:00:00.000000',\n  'traceback': '  File \"/usr/lib/node_modules/novasim/dist/cli.js\", line 1234, '\n               'in ComputeManager.power\\n'\n               '  File \"/usr/lib/node_modules/novasim/dist/cli.js\", line 99, '\n               'in LibvirtDriver.pause\\n'\n               'libvirt.libvirtError: Requested operation is not valid: domain '\n               'is not running\\n'},\n {'event': 'x',\n  'finish_time': None,\n  'result': None,\n  'start_time': None,\n  'traceback': 'short'}]"],
  ["an empty list", [], "[]"],
  ["quotes and control characters as repr() writes them", {"a": "it's", "b": "say \"hi\"", "c": "both ' and \"", "d": "tab\there", "e": "\u0001ctl", "f": "caf\u00e9"}, "{'a': \"it's\",\n 'b': 'say \"hi\"',\n 'c': 'both \\' and \"',\n 'd': 'tab\\there',\n 'e': '\\x01ctl',\n 'f': 'caf\u00e9'}"],
  ["a long top-level string: in parentheses", "a very long string with many words in it that goes on and on and on and on beyond the width of eighty characters for sure yes", "('a very long string with many words in it that goes on and on and on and on '\n 'beyond the width of eighty characters for sure yes')"],
  ["a word longer than the width: left whole", [{"k": "wordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordword"}], "[{'k': 'wordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordwordword'}]"],
  ["scalars: True, False, None, floats", [1, 2.5, true, false, null, "x"], "[1, 2.5, True, False, None, 'x']"],
];

describe('pprint.pformat (CPython 3)', () => {
  for (const [name, value, python] of CASES) it(name, () => expect(pformat(value)).toBe(python));
});

describe("print_dict of an action: the events' text as novaclient shows it", () => {
  it("splits the value at the repr's literal \\n (print_dict's r'\\n' test), as Mitaka does with a traceback", () => {
    const events = pformat([{ event: 'compute_stop_instance', start_time: 's', finish_time: 'f', result: 'Error', traceback: 'libvirt.libvirtError: boom\n' }]);
    const table = printDict({ action: 'stop', events });
    const rows = table.split('\n').filter((l) => l.startsWith('|'));
    expect(rows).toContain("|          |   'traceback': 'libvirt.libvirtError: boom |");
    expect(rows).toContain("|          | '}]                                        |");
  });
});
