// Connects the shell to the embedded cloud this process hosts, with the simulator's world
// around it (src/novasim/cloud.ts). The cloud is imported lazily (nothing of it loads for
// help or usage errors).
import type { EmbeddedCloud } from '../cloud/types.js';
import { resolveStatePath } from '../state/paths.js';
import type { CloudConnector } from './shell.js';

type OpenEmbeddedCloud = (opts: { statePath: string; onNotice?: (line: string) => void }) => Promise<EmbeddedCloud>;

let loading: Promise<OpenEmbeddedCloud> | undefined;

export function loadOpenEmbeddedCloud(): Promise<OpenEmbeddedCloud> {
  loading ??= import('../novasim/cloud.js').then((mod) => mod.openSimulatedCloud);
  return loading;
}

export const embeddedConnector: CloudConnector = {
  prefetch() {
    // a failed prefetch is reported by open()
    loadOpenEmbeddedCloud().catch(() => undefined);
  },
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
