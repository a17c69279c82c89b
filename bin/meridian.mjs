#!/usr/bin/env node
// Runs the TypeScript CLI without a build step: tsx compiles it as it loads.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
