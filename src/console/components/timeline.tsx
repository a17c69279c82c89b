import type { JobEventView } from "../../shared/api.js";
import { when } from "../lib/format.js";
import { StatusBadge } from "./job-table.js";

export function Timeline({ events }: { events: readonly JobEventView[] }) {
  if (events.length === 0) return <p className="muted">No events yet.</p>;
  return (
    <ol className="timeline" data-testid="timeline">
      {events.map((event) => (
        <li key={event.seq}>
          <StatusBadge status={event.status} /> <time dateTime={event.at}>{when(event.at)}</time>
          {event.nodeId ? <span className="muted mono"> on {event.nodeId}</span> : null}
          {event.reason ? <div className="muted">{event.reason}</div> : null}
        </li>
      ))}
    </ol>
  );
}
