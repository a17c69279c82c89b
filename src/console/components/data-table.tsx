import type { ReactNode } from "react";

/** A column heading; `{ hidden }` names a column for screen readers only (a column of buttons). */
export type Column = string | { hidden: string };

/**
 * The console's tables: a horizontally scrolling wrapper (so a narrow screen scrolls the table,
 * not the page), a header row of column headings, and the rows the caller renders.
 */
export function DataTable({
  testId,
  columns,
  children,
}: {
  testId?: string;
  columns: readonly Column[];
  children: ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table data-testid={testId}>
        <thead>
          <tr>
            {columns.map((column) =>
              typeof column === "string" ? (
                <th scope="col" key={column}>
                  {column}
                </th>
              ) : (
                <th scope="col" key={column.hidden}>
                  <span className="skip-text">{column.hidden}</span>
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
