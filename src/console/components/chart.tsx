import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color: string;
}

/**
 * A uPlot chart: `x` is seconds since the epoch (uPlot's time axis); bars for daily figures,
 * lines for samples. It sizes itself to its container, so it fits a 375 px screen.
 */
export function Chart({
  title,
  x,
  series,
  bars = false,
  height = 220,
}: {
  title: string;
  x: readonly number[];
  series: readonly Series[];
  bars?: boolean;
  height?: number;
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const paths = bars ? uPlot.paths.bars?.({ size: [0.6, 40] }) : undefined;
    const plot = new uPlot(
      {
        width: element.clientWidth || 320,
        height,
        series: [
          {},
          ...series.map((entry) => ({
            label: entry.label,
            stroke: entry.color,
            fill: bars ? `${entry.color}99` : undefined,
            ...(paths ? { paths } : {}),
          })),
        ],
        axes: [{}, { size: 60 }],
      },
      [x as number[], ...series.map((entry) => entry.values as (number | null)[])],
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, series, bars, height]);
  return <figure ref={host} className="chart" aria-label={title} role="img" />;
}
