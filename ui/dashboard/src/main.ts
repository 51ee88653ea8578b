// The dashboard's entry: sign in, then route `#/` (the workspace list) and
// `#/workspaces/<id>/<tab>` (one workspace, live) into <main>.
import { fill, h } from "./dom.js";
import { ListView } from "./list.js";
import { openSession, signOut, SignInRefused, storedToken, storeToken, takeTokenFromLink, type Session } from "./session.js";
import { TABS, WorkspaceView, type Tab } from "./workspace.js";

export interface View {
  element: HTMLElement;
  destroy(): void;
}

const main = document.getElementById("main") as HTMLElement;
const who = document.getElementById("who") as HTMLElement;
const signOutButton = document.getElementById("signout") as HTMLButtonElement;
let session: Session | null = null;
let current: View | null = null;

function mount(view: View): void {
  current?.destroy();
  current = view;
  fill(main, view.element);
}

function signInForm(message: string | null): void {
  current?.destroy();
  current = null;
  session = null;
  who.textContent = "";
  signOutButton.hidden = true;
  const key = h("input", { id: "key", name: "key", type: "password", autocomplete: "off", required: true, "aria-describedby": "signin-error" });
  const form = h(
    "form",
    { class: "card signin", onsubmit: (event: Event) => {
      event.preventDefault();
      storeToken(key.value.trim());
      void start();
    } },
    h("h1", {}, "Sign in"),
    h("p", {}, "Open the link ", h("code", {}, "make run"), " printed, or paste an API key (kept in this tab only)."),
    h("label", { for: "key" }, "API key"),
    key,
    h("p", { id: "signin-error", class: "field-error", role: "alert" }, message ?? ""),
    h("button", { type: "submit" }, "Sign in"),
  );
  fill(main, form);
  key.focus();
}

function route(): void {
  if (!session) return;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "workspaces" && parts[1]) {
    const tab = (TABS as readonly string[]).includes(parts[2] ?? "") ? (parts[2] as Tab) : "fields";
    if (current instanceof WorkspaceView && current.workspaceId === parts[1]) current.select(tab);
    else mount(new WorkspaceView(session, parts[1], tab));
    return;
  }
  if (!(current instanceof ListView)) mount(new ListView(session));
}

async function start(): Promise<void> {
  const token = storedToken();
  if (!token) return signInForm(null);
  fill(main, h("p", { class: "muted", role: "status" }, "Signing in…"));
  try {
    session = await openSession(token);
  } catch (error) {
    signOut();
    return signInForm(error instanceof SignInRefused ? error.message : `Sign-in failed: ${String(error)}`);
  }
  who.textContent = `${session.userId} · ${session.role} · org ${session.orgId}`;
  signOutButton.hidden = false;
  route();
}

signOutButton.addEventListener("click", () => {
  signOut();
  history.replaceState(null, "", location.pathname);
  signInForm(null);
});
window.addEventListener("hashchange", route);
takeTokenFromLink();
void start();
