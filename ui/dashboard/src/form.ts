// The workspace form (create and edit share it): labelled fields, and a 422's issues shown
// next to the field they name (`loc: ["body", "<field>", ...]`), with aria-invalid.
import { ValidationError, type Workspace, type ValidationIssue } from "../../../clients/typescript/src/index.js";
import { h } from "./dom.js";

export type FieldName = "name" | "description" | "subscription_plan_id" | "tags" | "region" | "is_active";

interface FieldSpec {
  name: FieldName;
  label: string;
  hint?: string;
  kind: "text" | "textarea" | "checkbox";
}

const SPECS: FieldSpec[] = [
  { name: "name", label: "Name", kind: "text" },
  { name: "description", label: "Description", kind: "textarea" },
  { name: "subscription_plan_id", label: "Plan", kind: "text" },
  { name: "tags", label: "Tags", hint: "comma-separated: lowercase letters, digits, . _ : -", kind: "text" },
  { name: "region", label: "Region", hint: "empty: the server's default", kind: "text" },
  { name: "is_active", label: "Active", kind: "checkbox" },
];

export class WorkspaceForm {
  readonly element: HTMLFormElement;
  private readonly inputs = new Map<FieldName, HTMLInputElement | HTMLTextAreaElement>();
  private readonly errors = new Map<FieldName, HTMLElement>();
  private readonly formError: HTMLElement;

  /** `prefix` keeps ids unique; `readOnly` fields are shown but not sent (region after create). */
  constructor(prefix: string, submitLabel: string, onSubmit: () => void, readOnly: FieldName[] = []) {
    this.formError = h("p", { class: "form-error", role: "alert", id: `${prefix}-form-error` });
    const rows = SPECS.map((spec) => {
      const id = `${prefix}-${spec.name}`;
      const describedBy = [spec.hint ? `${id}-hint` : "", `${id}-error`].filter(Boolean).join(" ");
      const common = { id, name: spec.name, "aria-describedby": describedBy, readonly: readOnly.includes(spec.name) };
      const input =
        spec.kind === "textarea"
          ? h("textarea", { ...common, rows: 2 })
          : h("input", { ...common, type: spec.kind, autocomplete: "off" });
      const error = h("span", { class: "field-error", id: `${id}-error` });
      this.inputs.set(spec.name, input);
      this.errors.set(spec.name, error);
      return h(
        "div",
        { class: `field field-${spec.kind}` },
        h("label", { for: id }, spec.label),
        input,
        spec.hint ? h("span", { class: "hint", id: `${id}-hint` }, spec.hint) : null,
        error,
      );
    });
    this.element = h(
      "form",
      { class: "workspace-form", novalidate: true, id: `${prefix}-form`, onsubmit: (event: Event) => {
        event.preventDefault();
        onSubmit();
      } },
      ...rows,
      this.formError,
      h("div", { class: "actions" }, h("button", { type: "submit" }, submitLabel)),
    );
    (this.inputs.get("is_active") as HTMLInputElement).checked = true;
  }

  /** Put a workspace's values in the fields. */
  load(workspace: Workspace): void {
    this.value("name", workspace.name);
    this.value("description", workspace.description ?? "");
    this.value("subscription_plan_id", workspace.subscription_plan_id ?? "");
    this.value("tags", workspace.tags.join(", "));
    this.value("region", workspace.region);
    (this.inputs.get("is_active") as HTMLInputElement).checked = workspace.is_active;
  }

  /** The body the fields say (optional empty fields left out, or sent as null with `nulls`). */
  read(nulls: boolean): Record<string, unknown> {
    const text = (name: FieldName): string => (this.inputs.get(name) as HTMLInputElement).value;
    const optional = (name: FieldName): string | null | undefined => (text(name).trim() ? text(name) : nulls ? null : undefined);
    const body: Record<string, unknown> = {
      name: text("name"),
      description: optional("description"),
      subscription_plan_id: optional("subscription_plan_id"),
      tags: text("tags").split(",").map((t) => t.trim()).filter(Boolean),
      is_active: (this.inputs.get("is_active") as HTMLInputElement).checked,
    };
    if (text("region").trim()) body["region"] = text("region").trim();
    for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
    return body;
  }

  reset(): void {
    this.element.reset();
    (this.inputs.get("is_active") as HTMLInputElement).checked = true;
    this.clearErrors();
  }

  clearErrors(): void {
    this.formError.textContent = "";
    this.formError.className = "form-error";
    for (const [name, error] of this.errors) {
      error.textContent = "";
      this.inputs.get(name)?.removeAttribute("aria-invalid");
    }
  }

  /** A message for the whole form (`kind` styles it: error, conflict, ok). */
  message(text: string, kind: "error" | "conflict" | "ok" = "error"): void {
    this.formError.textContent = text;
    this.formError.className = `form-error ${kind}`;
  }

  /** Show an error: a 422's issues by their fields (the rest above the button), else its message. */
  showError(error: unknown): void {
    this.clearErrors();
    if (!(error instanceof ValidationError)) {
      this.message(error instanceof Error ? error.message : String(error));
      return;
    }
    const unplaced: string[] = [];
    let first: HTMLElement | null = null;
    for (const issue of error.detail) {
      const field = fieldOf(issue);
      const target = field ? this.errors.get(field) : undefined;
      if (!field || !target) {
        unplaced.push(`${(issue.loc ?? []).join(".")}: ${issue.msg}`);
        continue;
      }
      target.textContent = target.textContent ? `${target.textContent}; ${issue.msg}` : issue.msg;
      const input = this.inputs.get(field);
      input?.setAttribute("aria-invalid", "true");
      first ??= input ?? null;
    }
    this.message(unplaced.length ? unplaced.join("; ") : "Please correct the highlighted fields.");
    first?.focus();
  }

  private value(name: FieldName, value: string): void {
    (this.inputs.get(name) as HTMLInputElement).value = value;
  }
}

function fieldOf(issue: ValidationIssue): FieldName | null {
  const loc = issue.loc ?? [];
  const name = loc[0] === "body" ? loc[1] : undefined;
  return SPECS.some((s) => s.name === name) ? (name as FieldName) : null;
}
