/**
 * Prefixes each line with the time it was read (HH:MM:SS.mmm), keeping a line split across
 * chunks whole: how a log from several processes is lined up after a failure.
 */
export function lineStamper(): (text: string) => string {
  let atLineStart = true;
  return (text) => {
    let out = "";
    for (const piece of text.split(/(?<=\n)/)) {
      if (atLineStart) out += `${new Date().toISOString().slice(11, 23)} `;
      out += piece;
      atLineStart = piece.endsWith("\n");
    }
    return out;
  };
}
