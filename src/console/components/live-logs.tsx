import { useEffect, useRef, useState } from "react";
import { useClient } from "../session.js";
import { errorText } from "./query-view.js";

/** Most text kept on the page; older output scrolls away (the API still has all of it). */
const MAX_CHARS = 200_000;
/** Failed reconnects in a row before the page shows the failure instead of trying on its own. */
const QUIET_FAILURES = 5;

/**
 * The job's logs as a stream (GET …/logs?follow=1): text appears as the container writes it. When
 * the stream ends or breaks while the job is still live (the server's 15-minute limit, a dropped
 * connection, the job's Region object evicted or restarted), it reconnects — at once after an
 * end, with a growing pause after a failure — and replaces the text with the full log so far.
 * Only after several failures in a row does it say so (with a Retry button).
 */
export function LiveLogs({ jobId, live }: { jobId: string; live: boolean }) {
  const client = useClient();
  const [text, setText] = useState("");
  const [state, setState] = useState<"streaming" | "ended" | "error">("streaming");
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  const [failures, setFailures] = useState(0);
  const box = useRef<HTMLPreElement>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `attempt` restarts the stream on purpose.
  useEffect(() => {
    const abort = new AbortController();
    let received = "";
    setState("streaming");
    (async () => {
      try {
        for await (const chunk of client.jobLogs(jobId, live, abort.signal)) {
          received = (received + chunk).slice(-MAX_CHARS);
          setText(received);
          setFailures(0);
        }
        setText(received);
        setState("ended");
      } catch (caught) {
        if (abort.signal.aborted) return;
        setError(caught);
        setFailures((n) => n + 1);
        setState("error");
      }
    })();
    return () => abort.abort();
  }, [client, jobId, live, attempt]);

  // Reconnect once a live job's stream ends early or breaks (1 s, then 2, 4, 8 s after failures).
  useEffect(() => {
    if (!live || state === "streaming") return;
    if (state === "error" && failures >= QUIET_FAILURES) return;
    const delay = state === "ended" ? 1000 : 1000 * 2 ** Math.min(failures - 1, 3);
    const timer = setTimeout(() => setAttempt((n) => n + 1), delay);
    return () => clearTimeout(timer);
  }, [state, live, failures]);
  const quiet = live && state === "error" && failures < QUIET_FAILURES;

  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll whenever the text grows.
  useEffect(() => {
    const element = box.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [text]);

  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">
        Logs{" "}
        <span className="muted" aria-live="polite">
          {state === "streaming" && live ? "(live)" : quiet ? "(reconnecting…)" : ""}
        </span>
      </h2>
      {state === "error" && !quiet ? (
        <div role="alert" className="notice error">
          <span>Log stream failed: {errorText(error)}</span>
          <button
            type="button"
            onClick={() => {
              setFailures(0);
              setAttempt((n) => n + 1);
            }}
          >
            Retry
          </button>
        </div>
      ) : null}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus so the keyboard can scroll it. */}
      <pre ref={box} className="logs" data-testid="logs" tabIndex={0} role="log" aria-label="Job logs">
        {text || (live ? "waiting for output…" : "no output")}
      </pre>
    </section>
  );
}
