// Imported first by main.ts, so it runs before anything else on the page: a magic link's token
// is taken out of the address bar at once, before it can reach history, bookmarks or a
// screenshot. Nothing here spends it.
const raw = location.hash.length > 1 ? location.hash.slice(1) : '';
if (raw) history.replaceState(history.state, '', location.pathname + location.search);

/** The link token the page was opened with, if any (already gone from the address bar). */
export const linkToken: string = raw;
