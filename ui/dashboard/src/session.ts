// The signed-in key: from the `#token=` link `make run` prints (the fragment never reaches a
// server) or pasted, kept in sessionStorage (gone with the tab). `GET /ui/session` tells
// whose key it is: the org the API paths need, and the user (to mark "you" in presence).
import { MechaMental } from "../../../clients/typescript/src/index.js";

const KEY = "mechamental.token";

export interface Session {
  orgId: string;
  userId: string;
  role: string;
  client: MechaMental;
}

/** Take a `#token=` fragment into sessionStorage and drop it from the address bar. */
export function takeTokenFromLink(): void {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token) {
    sessionStorage.setItem(KEY, token);
    history.replaceState(null, "", location.pathname + location.search);
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

export class SignInRefused extends Error {}

/** Who `token` belongs to, and a client for them; SignInRefused when the server says no. */
export async function openSession(token: string): Promise<Session> {
  const response = await fetch("/ui/session", { headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 401) throw new SignInRefused("This key was refused (invalid, expired or revoked).");
  if (!response.ok) throw new SignInRefused(`Sign-in failed: HTTP ${response.status}.`);
  const who = (await response.json()) as { org_id: string; user_id: string; role: string };
  const client = new MechaMental({ baseUrl: location.origin, orgId: who.org_id, token });
  return { orgId: who.org_id, userId: who.user_id, role: who.role, client };
}
