/** Vite's `?raw` imports (a file's text), for fixtures the workerd tests read without a file system. */
declare module "*?raw" {
  const text: string;
  export default text;
}
