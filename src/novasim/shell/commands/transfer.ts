// nova-sim export / import: the state's JSON document out of, and back into, the state file
// (src/state/transfer.ts), whether the file keeps the world as JSON or in SQLite.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { SimError } from '../../../common/errors.js';
import { strerror } from '../../../common/strerror.js';
import { act, operands, type SimContext } from '../context.js';

export function exportCommand(ctx: SimContext): Command {
  const cmd = new Command('export')
    .description("Write the state's JSON document (the whole world) to stdout or a file.")
    .option('-o, --output <file>', 'Write it to <file> instead of stdout.');
  return act(cmd, ctx, async () => {
    const o = cmd.opts<{ output?: string }>();
    const [{ exportState }, { writeFileDurably }] = await Promise.all([import('../../../state/transfer.js'), import('../../../state/store.js')]);
    const text = exportState(ctx.statePath());
    if (o.output === undefined || o.output === '-') ctx.out(text);
    else writeFileDurably(resolve(o.output), text);
    return 0;
  });
}

export function importCommand(ctx: SimContext): Command {
  const cmd = new Command('import')
    .description('Replace the state with a JSON document (as nova-sim export writes it), kept in SQLite unless --format json.')
    .argument('<file>', "The JSON document ('-' for stdin).")
    .addOption(new Option('--format <json|sqlite>', 'How the state file keeps the world.').choices(['json', 'sqlite']).default('sqlite'))
    .option('--force', 'Replace an existing state file.');
  return act(cmd, ctx, async () => {
    const [file] = operands<[string]>(cmd);
    const o = cmd.opts<{ format: 'json' | 'sqlite'; force?: true }>();
    let text: string;
    const source = file === '-' ? '<stdin>' : resolve(file);
    try {
      text = readFileSync(file === '-' ? 0 : source, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new SimError('IOError', `cannot read ${source}: ${strerror(code)} (${code}); the state file is unchanged`);
    }
    const { importState } = await import('../../../state/transfer.js');
    await importState(ctx.statePath(), text, source, { force: o.force === true, format: o.format });
    ctx.out(`Imported ${source} into ${ctx.statePath()} (${o.format === 'sqlite' ? 'SQLite' : 'JSON'})\n`);
    return 0;
  });
}
