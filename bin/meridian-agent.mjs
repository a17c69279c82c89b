#!/usr/bin/env node
// Runs the host agent straight from its TypeScript sources: tsx compiles on load, so no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/agent/main.ts");
