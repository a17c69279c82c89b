import { describe, expect, it } from "vitest";
import { CLIENT_ROUTES } from "../../src/shared/client/meridian-client.js";
import { app } from "../../src/worker/app.js";

describe("the shared client (CLI and console)", () => {
  it("calls only routes the app serves, by their method and path", () => {
    const served = new Set(app.routes.map((route) => `${route.method} ${route.path}`));
    const missing = Object.entries(CLIENT_ROUTES)
      .map(([name, [method, path]]) => ({ name, route: `${method} ${path}` }))
      .filter(({ route }) => !served.has(route));
    expect(missing).toEqual([]);
  });
});
