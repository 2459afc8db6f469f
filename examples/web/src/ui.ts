// Small DOM helpers: every value from the pool or the user goes in as text, never as HTML.

type Child = Node | string | false | null | undefined | Child[];
type Attrs = Record<string, string | boolean | number | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el: HTMLElement, child: Child): void {
  if (Array.isArray(child)) child.forEach((c) => append(el, c));
  else if (child) el.append(child);
}

/** Shows one card: a heading, its content, and a footer naming the pool. */
export function show(title: string, footer: string, ...content: Child[]): void {
  const app = document.getElementById('app')!;
  document.title = title;
  app.replaceChildren(
    h('section', { class: 'card' }, h('h1', {}, title), ...content, h('p', { class: 'footer' }, footer)),
  );
  app.querySelector<HTMLElement>('[autofocus]')?.focus();
}

export type Tone = 'error' | 'warn' | 'info' | 'ok';

export function notice(tone: Tone, ...text: Child[]): HTMLElement {
  return h('div', { class: `notice ${tone}`, role: tone === 'error' || tone === 'warn' ? 'alert' : 'status' }, ...text);
}

/** Puts a notice (or nothing) in a slot, replacing what was there. */
export function say(slot: HTMLElement, tone?: Tone, ...text: Child[]): void {
  slot.replaceChildren(...(tone ? [notice(tone, ...text)] : []));
}

/** "42 s", "14 min 5 s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
}

/** Counts down in `span`, then calls `done`. Returns a canceller. */
export function countdown(span: HTMLElement, seconds: number, done: () => void): () => void {
  const end = Date.now() + seconds * 1000;
  const tick = () => {
    const left = (end - Date.now()) / 1000;
    span.textContent = duration(left);
    if (left <= 0) {
      clearInterval(timer);
      done();
    }
  };
  const timer = setInterval(tick, 250);
  tick();
  return () => clearInterval(timer);
}

/** Disables a button while `work` runs, showing `busyText`. */
export async function busy<T>(button: HTMLButtonElement, busyText: string, work: () => Promise<T>): Promise<T> {
  const text = button.textContent;
  button.disabled = true;
  button.textContent = busyText;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.textContent = text;
  }
}

export function when(epochSeconds: unknown): string {
  return typeof epochSeconds === 'number' ? new Date(epochSeconds * 1000).toLocaleTimeString() : '';
}
