// Loads an ESM-only package (ora, chalk) at run time. The bundled CLI runs as a script
// whose launcher provides the importer (its own import(), resolved from the package's
// node_modules); under tsc's output or vitest the plain dynamic import is used.

type Importer = (specifier: string) => Promise<unknown>;

export function importEsm<T>(specifier: string): Promise<T> {
  const hook = (globalThis as { __novasimImportEsm?: Importer }).__novasimImportEsm;
  return (hook ? hook(specifier) : import(specifier)) as Promise<T>;
}
