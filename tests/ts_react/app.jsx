// The React app the Chromium test drives (bundled by react_chromium.mjs with esbuild, React's
// development build, so StrictMode really mounts twice). Each "slot" is one user: its own
// client and root, a Viewer per [type, id] of its `viewing` list. What the hooks return after
// every commit is recorded in window.seen; how often the slot's client opened a handle in
// window.syncCalls (counted, not replaced).
import { StrictMode, useEffect, version } from "react";
import { createRoot } from "react-dom/client";
import { MechaMental } from "@mechamental/client";
import { MechaMentalProvider, usePresence, useViewing, useWorkspace } from "@mechamental/client/react";

window.seen = {};
window.reactVersion = version; // the React this bundle runs on (19, or 18 from tests/ts_react/react18)
window.syncCalls = {};
window.mountEffects = {};
const slots = {};

const memberJson = (m) => ({ user_id: m.user_id, viewing: m.viewing ? `${m.viewing.resource_type}/${m.viewing.resource_id}` : null });

function record(slot, part, value) {
  window.seen[slot] = { ...window.seen[slot], [part]: value };
}

function recordViewers(slot, resource, users) {
  const viewers = { ...window.seen[slot]?.viewers };
  if (users === null) delete viewers[resource];
  else viewers[resource] = users;
  record(slot, "viewers", viewers);
}

function Title({ slot }) {
  const { workspace, status, error } = useWorkspace();
  useEffect(() => {
    record(slot, "workspace", { name: workspace?.name ?? null, status, error: error ? String(error) : null });
  });
  useEffect(() => {
    window.mountEffects[slot] = (window.mountEffects[slot] ?? 0) + 1;
  }, []);
  return <h1>{workspace?.name ?? "…"} ({status})</h1>;
}

function People({ slot }) {
  const { members, me, others } = usePresence();
  useEffect(() => {
    record(slot, "presence", { me, members: members.map(memberJson), others: others.map(memberJson) });
  });
  return <ul>{others.map((m) => <li key={m.user_id}>{m.user_id}</li>)}</ul>;
}

function Viewer({ slot, type, id }) {
  const viewers = useViewing(type, id);
  useEffect(() => {
    recordViewers(slot, `${type}/${id}`, viewers.map((m) => m.user_id));
  });
  useEffect(() => () => recordViewers(slot, `${type}/${id}`, null), [slot, type, id]);
  return <p>{viewers.length} others view {type}/{id}</p>;
}

function App({ slot, client, workspaceId, viewing }) {
  return (
    // Two users on one page, with tab sharing on (the default): each user's handle is in a
    // group of its own credential, so neither sees the other's stream or identity.
    <MechaMentalProvider client={client} workspaceId={workspaceId} syncOptions={{ auth: "ticket" }}>
      <Title slot={slot} />
      <People slot={slot} />
      {viewing.map(([type, id]) => <Viewer key={`${type}/${id}`} slot={slot} type={type} id={id} />)}
    </MechaMentalProvider>
  );
}

function render(slot) {
  const s = slots[slot];
  const app = <App slot={slot} client={s.client} workspaceId={s.workspaceId} viewing={s.viewing} />;
  s.root.render(s.strict ? <StrictMode>{app}</StrictMode> : app);
}

window.app = {
  mount(slot, { api, org, token, workspaceId, strict, viewing }) {
    const client = new MechaMental({ baseUrl: api, orgId: org, token });
    const sync = client.sync.bind(client);
    window.syncCalls[slot] = 0;
    client.sync = (...args) => {
      window.syncCalls[slot] += 1;
      return sync(...args);
    };
    const element = document.createElement("section");
    document.body.append(element);
    slots[slot] = { client, workspaceId, strict, viewing, element, root: createRoot(element) };
    render(slot);
  },
  view(slot, viewing) {
    slots[slot].viewing = viewing;
    render(slot);
  },
  unmount(slot) {
    slots[slot].root.unmount();
    slots[slot].element.remove();
    delete slots[slot];
  },
};
window.ready = true;
