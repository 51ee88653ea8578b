// Building the page from elements (never innerHTML: every value from the API is text), and
// the few formatters the views share.

type Attrs = Record<string, string | boolean | number | null | undefined | ((event: Event) => void)>;
export type Child = Node | string | number | null | undefined | false;

/** `h("button", {type: "submit", onclick: f}, "Save")`: attributes, `on*` listeners, children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** Replace `parent`'s children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export function time(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A value as one short line: strings quoted, lists joined, null as a dash. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.length ? value.map(String).join(", ") : "(none)";
  if (typeof value === "string") return `“${value}”`;
  return String(value);
}

/** The status badge of a bucket (`data-status` carries the raw value for styles and tests). */
export function bucketBadge(status: string): HTMLElement {
  return h("span", { class: `badge bucket-${status}`, "data-status": status }, status);
}

/** Say something to screen readers (the page's polite live region). */
export function announce(text: string): void {
  const region = document.getElementById("announcer");
  if (region) region.textContent = text;
}
