// A strict little XML reader for the SVG the charts produce: it throws on anything not well-formed
// (unbalanced or mismatched tags, a raw `<` or `&` in text or attributes, duplicate attributes),
// and gives a tree to query by class. Enough for tests; not a general XML parser.

export interface SvgElement {
  name: string;
  attrs: Record<string, string>;
  children: SvgElement[];
  /** Text directly inside this element, entities decoded. */
  text: string;
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function decode(raw: string, where: string): string {
  const stripped = raw.replace(ENTITY, '');
  if (/[<&]/.test(stripped)) throw new Error(`not well-formed: raw < or & in ${where}: ${JSON.stringify(raw.slice(0, 80))}`);
  return raw
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, '&');
}

export function parseSvg(source: string): SvgElement {
  const root: SvgElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: SvgElement[] = [root];
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>|<\?[^>]*\?>|<!--[\s\S]*?-->/g;
  const attr = /([\w:.-]+)\s*=\s*"([^"]*)"/g;
  let last = 0;
  for (let m = tag.exec(source); m !== null; m = tag.exec(source)) {
    const between = source.slice(last, m.index);
    const top = stack[stack.length - 1];
    if (between.trim() !== '') {
      if (top === root) throw new Error(`not well-formed: text outside the root element: ${JSON.stringify(between.slice(0, 80))}`);
      top.text += decode(between, `<${top.name}> text`);
    }
    last = m.index + m[0].length;
    if (m[2] === undefined) continue; // declaration or comment
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      if (attrText.trim() !== '' || selfClosing) throw new Error(`not well-formed: bad closing tag ${m[0]}`);
      const open = stack.pop();
      if (!open || open === root || open.name !== name) throw new Error(`not well-formed: </${name}> closes <${open?.name}>`);
      continue;
    }
    const el: SvgElement = { name, attrs: {}, children: [], text: '' };
    for (let a = attr.exec(attrText); a !== null; a = attr.exec(attrText)) {
      if (a[1] in el.attrs) throw new Error(`not well-formed: duplicate attribute ${a[1]} on <${name}>`);
      el.attrs[a[1]] = decode(a[2], `attribute ${a[1]} of <${name}>`);
    }
    if (top === root && root.children.length > 0) throw new Error('not well-formed: more than one root element');
    top.children.push(el);
    if (!selfClosing) stack.push(el);
  }
  if (source.slice(last).trim() !== '') throw new Error(`not well-formed: trailing text ${JSON.stringify(source.slice(last, last + 80))}`);
  if (stack.length !== 1) throw new Error(`not well-formed: <${stack[stack.length - 1].name}> never closed`);
  if (root.children.length !== 1) throw new Error('not well-formed: no root element');
  return root.children[0];
}

/** Every element below `el` (depth first, document order). */
export function descendants(el: SvgElement): SvgElement[] {
  return el.children.flatMap((c) => [c, ...descendants(c)]);
}

/** Elements whose class list contains every one of `classes`. */
export function byClass(el: SvgElement, ...classes: string[]): SvgElement[] {
  return descendants(el).filter((d) => {
    const list = (d.attrs.class ?? '').split(/\s+/);
    return classes.every((c) => list.includes(c));
  });
}

/** All text inside `el`, in document order. */
export function texts(el: SvgElement): string[] {
  return [el.text, ...el.children.flatMap(texts)].filter((t) => t !== '');
}

/** The line paths Vega drew (one per series that has points), with the series named in their label. */
export function linePaths(svg: SvgElement): { series: string; stroke: string; dash: string; d: string }[] {
  return byClass(svg, 'mark-line', 'role-mark')
    .flatMap((g) => g.children.filter((c) => c.name === 'path'))
    .map((p) => ({
      series: /(?:^|; )series: ([^;]*)/.exec(p.attrs['aria-label'] ?? '')?.[1] ?? '',
      stroke: p.attrs.stroke ?? '',
      dash: p.attrs['stroke-dasharray'] ?? '',
      d: p.attrs.d ?? '',
    }));
}

/** The legend's entry labels, in order. */
export function legendLabels(svg: SvgElement): string[] {
  return byClass(svg, 'role-legend-label').flatMap(texts);
}
