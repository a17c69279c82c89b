import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { useLocation } from "wouter";
import { ApiError, fieldIssues } from "../../shared/client/api-error.js";
import { ErrorNotice, QueryView } from "../components/query-view.js";
import { SpecEditor } from "../components/spec-editor.js";
import { usd, when } from "../lib/format.js";
import { checkSpecText, placeIssues, type TextIssue } from "../lib/spec-text.js";
import { useClient } from "../session.js";

const SAMPLE = `name: hello
image: meridian/busybox:test
command: [sh, -c, "for i in 1 2 3; do echo line $i; sleep 1; done"]
resources:
  gpus: 0
  cpus: 1
  memoryGb: 1
timeoutSeconds: 600
`;

/** The text settles for this long before it is checked and quoted. */
const SETTLE_MS = 400;

function useSettled<T>(value: T): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), SETTLE_MS);
    return () => clearTimeout(timer);
  }, [value]);
  return settled;
}

/**
 * Write a spec, see it checked against the API's own schema as you type, see its estimate and
 * quote (where it would place, at what price, or why it would not), then submit it.
 */
export function SubmitPage() {
  const client = useClient();
  const [, navigate] = useLocation();
  const [text, setText] = useState(SAMPLE);
  const [serverIssues, setServerIssues] = useState<TextIssue[]>([]);
  const settled = useSettled(text);
  const check = useMemo(() => checkSpecText(settled), [settled]);
  const specKey = check.ok ? JSON.stringify(check.value) : null;

  const estimate = useQuery({
    queryKey: ["estimate", specKey],
    enabled: specKey !== null,
    queryFn: async () => (await client.estimate(check.value)).data,
  });
  const quote = useQuery({
    queryKey: ["quote", specKey],
    enabled: specKey !== null,
    queryFn: async () => (await client.quote(check.value)).data,
  });
  const submit = useMutation({
    mutationFn: async () => (await client.submitJob(checkSpecText(text).value)).data,
    onSuccess: (job) => navigate(`/jobs/${job.id}`),
    onError: (error) => {
      if (error instanceof ApiError) setServerIssues(placeIssues(text, fieldIssues(error)));
    },
  });

  const issues = check.ok ? serverIssues : check.issues;
  return (
    <>
      <h1>Submit a job</h1>
      <p className="muted">
        YAML or JSON, checked against the same schema as the API. Fields: see the{" "}
        <a href="/docs/">API reference</a>.
      </p>
      <div className="split">
        <div>
          <SpecEditor
            value={text}
            issues={issues}
            onChange={(next) => {
              setText(next);
              setServerIssues([]);
            }}
          />
          <ul className="issues" aria-live="polite" data-testid="spec-issues">
            {issues.map((issue) => (
              <li key={`${issue.path}:${issue.from}:${issue.message}`}>
                <code>{issue.path || "spec"}</code>: {issue.message}
              </li>
            ))}
          </ul>
          {submit.isError ? <ErrorNotice error={submit.error} /> : null}
          <button
            type="button"
            onClick={() => submit.mutate()}
            disabled={!check.ok || submit.isPending || text !== settled}
          >
            {submit.isPending ? "Submitting…" : "Submit job"}
          </button>
        </div>
        <aside aria-label="Estimate and quote">
          <section className="card" aria-labelledby="estimate-title">
            <h2 id="estimate-title">Estimate</h2>
            {specKey === null ? (
              <p className="muted">Fix the spec to see its estimate.</p>
            ) : (
              <QueryView query={estimate} label="the estimate">
                {(data) =>
                  data.offers === 0 ? (
                    <p data-testid="estimate">
                      No price range can be given:{" "}
                      {data.noOffersReason ?? "no node online now matches this spec"}.
                    </p>
                  ) : (
                    <dl className="facts" data-testid="estimate">
                      <dt>Matching offers</dt>
                      <dd>{data.offers}</dd>
                      <dt>Per hour</dt>
                      <dd>
                        {usd(data.perHour?.min)} – {usd(data.perHour?.max)}
                      </dd>
                      <dt>At most</dt>
                      <dd>
                        {usd(data.maxTotal?.max)}{" "}
                        <span className="muted">({data.maxRunSeconds}s max run)</span>
                      </dd>
                      <dt>Minimum charge</dt>
                      <dd>{usd(data.minimumCharge)}</dd>
                    </dl>
                  )
                }
              </QueryView>
            )}
          </section>
          <section className="card" aria-labelledby="quote-title">
            <h2 id="quote-title">Quote</h2>
            {specKey === null ? null : (
              <QueryView query={quote} label="the quote">
                {(data) => (
                  <div data-testid="quote">
                    <p>
                      {data.placeable ? "Places now" : "Would wait"} in <strong>{data.region}</strong>
                      {data.perHour ? ` at ${usd(data.perHour)}/h` : ""}.
                    </p>
                    <p className="muted">{data.explanation.message}</p>
                    {data.explanation.relaxations[0] ? (
                      <p>Nearest fix: {data.explanation.relaxations[0].text}</p>
                    ) : null}
                    {data.estimatedStartAt ? (
                      <p className="muted">Start: {when(data.estimatedStartAt)}</p>
                    ) : null}
                  </div>
                )}
              </QueryView>
            )}
          </section>
        </aside>
      </div>
    </>
  );
}
