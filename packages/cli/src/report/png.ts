// PNG copies of the report's SVG plots, for places that show images but not SVG (chat, slides, some
// issue trackers). Rasterised with resvg (Rust, no browser); text uses the system's fonts, DejaVu
// Sans first (infra/setup.sh installs fonts-dejavu-core).
import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';

/** The SVG as PNG bytes at `scale`× its size (2: crisp on high-density screens). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/** Writes `<path>.svg` and its PNG copy `<path>.png`. */
export function writePlot(pathWithoutExtension: string, svg: string): void {
  writeFileSync(`${pathWithoutExtension}.svg`, svg);
  writeFileSync(`${pathWithoutExtension}.png`, svgToPng(svg));
}
