// Client routes (SPEC §8.2): `/c/<cid>` names the open conversation; history.replaceState only, and the parent is told.
import { postRoute } from "./handshake";

/** The conversation id in a `/c/<cid>` path, if any. */
export function cidFromPath(pathname: string): string | null {
  const match = /^\/c\/([^/]+)\/?$/.exec(pathname);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

/** Shows `/c/<cid>` in our URL (query kept, it carries parent_origin) and posts `augchatd:route` to the parent. */
export function showConversationRoute(cid: string): void {
  const path = `/c/${encodeURIComponent(cid)}`;
  if (location.pathname !== path) history.replaceState(null, "", path + location.search);
  postRoute(path);
}
