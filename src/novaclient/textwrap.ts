// Python's textwrap.wrap/fill as argparse uses them (break_on_hyphens, break_long_words,
// drop_whitespace). argparse's help layout depends on exactly where textwrap breaks
// ("(see 'nova image-\nshow')"), so the chunking regex follows textwrap.TextWrapper.wordsep_re.

const WS = '[\\t\\n\\x0b\\x0c\\r ]';
const NWS = '[^\\t\\n\\x0b\\x0c\\r ]';
const WORD_PUNCT = `[\\w!"'&.,?]`;
const LETTER = '[^\\d\\W]';

const WORDSEP = new RegExp(
  `(${WS}+` +
    `|(?<=${WORD_PUNCT})-{2,}(?=\\w)` +
    `|${NWS}+?(?:` +
    `-(?:(?<=${LETTER}{2}-)|(?<=${LETTER}-${LETTER}-))(?=${LETTER}-?${LETTER})` +
    `|(?=${WS}|$)` +
    `|(?<=${WORD_PUNCT})(?=-{2,}\\w)` +
    `))`,
);

function splitChunks(text: string): string[] {
  return text.split(WORDSEP).filter((c) => c !== undefined && c !== '');
}

function isBlank(s: string): boolean {
  return s.trim() === '';
}

function handleLongWord(chunks: string[], curLine: string[], curLen: number, width: number): void {
  const spaceLeft = width < 1 ? 1 : width - curLen;
  const chunk = chunks[chunks.length - 1];
  let end = spaceLeft;
  if (chunk.length > spaceLeft) {
    const hyphen = chunk.lastIndexOf('-', spaceLeft - 1);
    if (hyphen > 0 && /[^-]/.test(chunk.slice(0, hyphen))) end = hyphen + 1;
  }
  curLine.push(chunk.slice(0, end));
  chunks[chunks.length - 1] = chunk.slice(end);
}

export function wrap(text: string, width: number, initialIndent = '', subsequentIndent = ''): string[] {
  // expand_tabs + replace_whitespace
  text = text.replace(/\t/g, '        ').replace(/[\n\x0b\x0c\r]/g, ' ');
  const chunks = splitChunks(text).reverse();
  const lines: string[] = [];
  while (chunks.length) {
    const curLine: string[] = [];
    let curLen = 0;
    const indent = lines.length ? subsequentIndent : initialIndent;
    const w = width - indent.length;
    if (isBlank(chunks[chunks.length - 1]) && lines.length) chunks.pop();
    while (chunks.length) {
      const l = chunks[chunks.length - 1].length;
      if (curLen + l <= w) {
        curLine.push(chunks.pop() as string);
        curLen += l;
      } else break;
    }
    if (chunks.length && chunks[chunks.length - 1].length > w) {
      handleLongWord(chunks, curLine, curLen, w);
      curLen = curLine.reduce((a, c) => a + c.length, 0);
      if (chunks[chunks.length - 1] === '') chunks.pop();
    }
    if (curLine.length && isBlank(curLine[curLine.length - 1])) {
      curLen -= curLine[curLine.length - 1].length;
      curLine.pop();
    }
    if (curLine.length) lines.push(indent + curLine.join(''));
  }
  return lines;
}

export function fill(text: string, width: number, initialIndent = '', subsequentIndent = ''): string {
  return wrap(text, width, initialIndent, subsequentIndent).join('\n');
}
