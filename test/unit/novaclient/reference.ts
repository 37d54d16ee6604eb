// Sections of the captured reference outputs, by their "######## <title>" line.
import { readFileSync } from 'node:fs';

// copies of /work/shared/spec/reference/*, so the tests run from the repository alone
const REF = new URL('./fixtures', import.meta.url).pathname;

export function referenceSection(file: string, title: string): string {
  const text = readFileSync(`${REF}/${file}`, 'utf8');
  const parts = text.split(/^######## (.*)\n/m);
  for (let i = 1; i < parts.length; i += 2) if (parts[i] === title) return parts[i + 1];
  throw new Error(`no section '${title}' in ${file}`);
}

/** a captured run: output text and the exit code line the capture ends with */
export function capturedRun(file: string, title: string): { output: string; exit: number } {
  const body = referenceSection(file, title);
  const m = /^exit=(\d+)\n?$/m.exec(body);
  const exit = m ? Number(m[1]) : 0;
  return { output: m ? body.slice(0, m.index) : body, exit };
}
