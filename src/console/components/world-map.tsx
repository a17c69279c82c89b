import { geoEqualEarth, geoPath } from "d3-geo";
import { useMemo } from "react";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import land from "world-atlas/land-110m.json";
import type { HealthView, NodeView } from "../../shared/api.js";

const WIDTH = 800;
const HEIGHT = 400;

/**
 * Regions at their configured centroids, sized by the GPUs (and CPU nodes) they hold now; the
 * land is Natural Earth's 1:110m outline from world-atlas, projected with d3-geo.
 */
export function WorldMap({
  regions,
  nodes,
}: {
  regions: HealthView["regionLocations"];
  nodes: readonly NodeView[];
}) {
  const { outline, projection } = useMemo(() => {
    const topology = land as unknown as Topology<{ land: GeometryCollection }>;
    const shape = feature(topology, topology.objects.land);
    const projected = geoEqualEarth().fitSize([WIDTH, HEIGHT], shape);
    return { outline: geoPath(projected)(shape) ?? "", projection: projected };
  }, []);
  return (
    <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="map" role="img" aria-label="Regions and their nodes">
      <path d={outline} className="land" />
      {regions.map((region) => {
        const point = projection([region.lon, region.lat]);
        if (!point) return null;
        const here = nodes.filter((node) => node.region === region.id);
        const online = here.filter((node) => node.status === "online");
        const gpus = here.reduce((sum, node) => sum + node.gpus.length, 0);
        const radius = here.length === 0 ? 4 : 6 + Math.sqrt(gpus + here.length) * 3;
        return (
          <g key={region.id} transform={`translate(${point[0]},${point[1]})`}>
            <circle r={radius} className={online.length > 0 ? "region live" : "region"} />
            <text y={-radius - 4} textAnchor="middle" className="region-label">
              {region.id} · {here.length} node{here.length === 1 ? "" : "s"}
              {gpus > 0 ? `, ${gpus} GPU` : ""}
            </text>
            <title>
              {region.id}: {online.length} online of {here.length} nodes, {gpus} GPUs
            </title>
          </g>
        );
      })}
    </svg>
  );
}
