import { yaml } from "@codemirror/lang-yaml";
import { type Diagnostic, linter, lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorView } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { useEffect, useRef } from "react";
import type { TextIssue } from "../lib/spec-text.js";

function diagnostics(issues: readonly TextIssue[], length: number): Diagnostic[] {
  return issues.map((issue) => ({
    from: Math.min(issue.from, length),
    to: Math.min(Math.max(issue.to, issue.from), length),
    severity: "error",
    message: issue.path ? `${issue.path}: ${issue.message}` : issue.message,
  }));
}

/**
 * A CodeMirror editor for the job spec (YAML; JSON is YAML too). `issues` — from the schema here
 * or from the API's 400 — are drawn at their fields, underlined, with a gutter mark.
 */
export function SpecEditor({
  value,
  onChange,
  issues,
}: {
  value: string;
  onChange: (text: string) => void;
  issues: readonly TextIssue[];
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  const changed = useRef(onChange);
  changed.current = onChange;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the editor is created once; `value` seeds it.
  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({
      parent: host.current,
      doc: value,
      extensions: [
        basicSetup,
        yaml(),
        lintGutter(),
        // Diagnostics are pushed from outside (setDiagnostics); this linter keeps the lint state alive.
        linter(null),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) changed.current(update.state.doc.toString());
        }),
        EditorView.contentAttributes.of({
          "aria-label": "Job spec (YAML or JSON)",
          "data-testid": "spec-editor",
        }),
      ],
    });
    view.current = editor;
    return () => editor.destroy();
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    editor.dispatch(setDiagnostics(editor.state, diagnostics(issues, editor.state.doc.length)));
  }, [issues]);

  return <div ref={host} className="editor" />;
}
