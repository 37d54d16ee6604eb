// src/state/validate.ts + world.ts: the instance actions table (state.nova.instanceActions).
// A world has each server's 'create' action; a file written before the table existed (no
// field) still loads; a wrong action or event is refused with the path of its field.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initWorld } from '../../../src/novasim/world.js';
import type { State } from '../../../src/state/types.js';
import { validateState } from '../../../src/state/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'novasim-validate-actions-'));
const statePath = join(dir, 'state.json');
await initWorld(statePath, 'default', false);
const world = JSON.parse(readFileSync(statePath, 'utf8')) as State;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function edited(edit: (s: State) => void): State {
  const s = structuredClone(world);
  edit(s);
  return s;
}

describe('state: instance actions', () => {
  it("a new world records each server's create, with its build event, the same each time", async () => {
    const actions = world.nova.instanceActions ?? [];
    expect(actions.map((a) => a.instanceUuid)).toEqual(world.nova.instances.map((i) => i.uuid));
    const web1 = actions[0];
    expect(web1).toMatchObject({ action: 'create', startTime: '2016-05-03T09:12:44.000000', message: null, finishTime: null });
    expect(web1.events).toEqual([{ event: 'compute__do_build_and_run_instance', startTime: '2016-05-03T09:12:46.000000', finishTime: '2016-05-03T09:12:59.000000', result: 'Success', traceback: null }]);
    const again = join(dir, 'again.json');
    await initWorld(again, 'default', false);
    expect((JSON.parse(readFileSync(again, 'utf8')) as State).nova.instanceActions).toEqual(actions);
    expect(validateState(world, statePath)).toBeNull();
  });

  it('a file written before instance actions existed (no field) is valid', () => {
    expect(validateState(edited((s) => delete s.nova.instanceActions), statePath)).toBeNull();
  });

  it('refuses a wrong action or event, naming the field', () => {
    expect(validateState(edited((s) => ((s.nova.instanceActions as unknown) = {})), statePath)).toBe('state.nova.instanceActions must be an array');
    expect(validateState(edited((s) => ((s.nova.instanceActions![0].requestId as unknown) = 7)), statePath)).toBe('state.nova.instanceActions[0].requestId must be a string');
    expect(validateState(edited((s) => ((s.nova.instanceActions![0].events[0].result as unknown) = 1)), statePath)).toBe('state.nova.instanceActions[0].events[0].result must be a string or null');
    expect(validateState(edited((s) => ((s.nova.instanceActions![0] as unknown as Record<string, unknown>).id = 1)), statePath)).toBe('state.nova.instanceActions[0].id is not a field of this version');
  });
});
