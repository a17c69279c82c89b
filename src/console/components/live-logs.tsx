import { useEffect, useRef, useState } from "react";
import { useClient } from "../session.js";
import { errorText } from "./query-view.js";

/** Most text kept on the page; older output scrolls away (the API still has all of it). */
const MAX_CHARS = 200_000;

/**
 * The job's logs as a stream (GET …/logs?follow=1): text appears as the container writes it. When
 * the stream ends while the job is still live (the server's 15-minute limit, a dropped
 * connection), it reconnects and replaces the text with the full log so far.
 */
export function LiveLogs({ jobId, live }: { jobId: string; live: boolean }) {
  const client = useClient();
  const [text, setText] = useState("");
  const [state, setState] = useState<"streaming" | "ended" | "error">("streaming");
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
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
        }
        setText(received);
        setState("ended");
      } catch (caught) {
        if (abort.signal.aborted) return;
        setError(caught);
        setState("error");
      }
    })();
    return () => abort.abort();
  }, [client, jobId, live, attempt]);

  // Reconnect once a live job's stream ends early.
  useEffect(() => {
    if (state !== "ended" || !live) return;
    const timer = setTimeout(() => setAttempt((n) => n + 1), 1000);
    return () => clearTimeout(timer);
  }, [state, live]);

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
          {state === "streaming" && live ? "(live)" : ""}
        </span>
      </h2>
      {state === "error" ? (
        <div role="alert" className="notice error">
          <span>Log stream failed: {errorText(error)}</span>
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
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
