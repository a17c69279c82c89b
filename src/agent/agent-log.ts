/** Where the agent's human-readable messages go: the terminal by default, a collector in tests. */
export interface AgentLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const consoleLog: AgentLog = {
  info: (message) => console.log(`meridian-agent: ${message}`),
  warn: (message) => console.warn(`meridian-agent: warning: ${message}`),
  error: (message) => console.error(`meridian-agent: error: ${message}`),
};

export const silentLog: AgentLog = {
  info: () => {},
  warn: () => {},
  error: () => {},
};

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
