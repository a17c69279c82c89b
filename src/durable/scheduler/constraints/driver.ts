import { versionKey, versionText } from "../version.js";
import type { NodeConstraint } from "./constraint.js";
import { lowerTo } from "./relax.js";

const FIELD = "placement.minDriverVersion";

/** Versions compare as `versionKey` numbers. */
export const driver: NodeConstraint<"driver", { minDriverVersion: number }> = {
  name: "driver",
  scope: "node",
  keys: ["minDriverVersion"],
  field: FIELD,
  fact: {
    reads: ["driverVersion"],
    arrives: "registration",
    source: "registration: the driver version nvidia-smi reports",
  },
  says: "runs an older NVIDIA driver, or reports none",
  fromSpec: (spec) => ({ minDriverVersion: versionKey(spec.placement?.minDriverVersion) }),
  fails: (state, demand) => {
    const least = demand.constraints.minDriverVersion;
    return least !== undefined && (state.driverKey === undefined || state.driverKey < least);
  },
  offers: ({ state }) => [state.driverKey],
  relax: (observed, demand) =>
    lowerTo(FIELD, observed, demand.nodes, demand.constraints.minDriverVersion, versionText),
};
