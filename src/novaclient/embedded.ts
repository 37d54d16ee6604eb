// Connects the shell to the embedded cloud this process hosts. The cloud is imported
// lazily (nothing of it loads for help or usage errors).
import type { EmbeddedCloud } from '../cloud/types.js';
import { resolveStatePath } from '../state/paths.js';
import type { CloudConnector } from './shell.js';

type OpenEmbeddedCloud = (opts: { statePath: string; onNotice?: (line: string) => void }) => Promise<EmbeddedCloud>;

export async function loadOpenEmbeddedCloud(): Promise<OpenEmbeddedCloud> {
  // a computed specifier keeps the client building while the server side is in progress
  const spec = '../cloud/embedded.js';
  const mod = (await import(spec)) as { openEmbeddedCloud?: OpenEmbeddedCloud };
  if (typeof mod.openEmbeddedCloud !== 'function') throw new Error('cloud/embedded.js does not export openEmbeddedCloud');
  return mod.openEmbeddedCloud;
}

export const embeddedConnector: CloudConnector = {
  async open(stateFlag, onNotice) {
    const openEmbeddedCloud = await loadOpenEmbeddedCloud();
    const cloud = await openEmbeddedCloud({ statePath: resolveStatePath(stateFlag), onNotice });
    return {
      transport: cloud.transport,
      endpoints: cloud.endpoints,
      cloud,
      close: () => cloud.close(),
    };
  },
};
