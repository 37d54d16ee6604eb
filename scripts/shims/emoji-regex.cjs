// Stand-in for the emoji-regex package inside the bundled CLI. cli-table3 measures cell
// widths with string-width, which replaces every emoji sequence by two columns using
// emoji-regex's generated pattern; compiling that pattern costs ~14 ms on the first table,
// a tenth of `nova list`'s start-up budget. Unicode property escapes describe the same
// sequences (pictographs and flags, with presentation selectors, skin tones and ZWJ joins)
// and compile in well under a millisecond.
'use strict';
module.exports = () =>
  /(?:\p{Regional_Indicator}{2}|\p{Extended_Pictographic}(?:\ufe0f|\p{Emoji_Modifier})*(?:\u200d\p{Extended_Pictographic}(?:\ufe0f|\p{Emoji_Modifier})*)*|[#*0-9]\ufe0f?\u20e3)/gu;
