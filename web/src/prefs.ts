import { useEffect, useState } from 'preact/hooks';

/**
 * Small per-browser preferences (theme, current team) in localStorage, observable so every component
 * showing one re-renders when it changes.
 */
function pref<T extends string>(key: string, fallback: T) {
  const listeners = new Set<(v: T) => void>();
  const read = (): T => (localStorage.getItem(key) as T | null) ?? fallback;
  const set = (v: T) => {
    localStorage.setItem(key, v);
    listeners.forEach((l) => l(v));
  };
  const use = (): [T, (v: T) => void] => {
    const [v, setV] = useState(read);
    useEffect(() => {
      listeners.add(setV);
      return () => listeners.delete(setV);
    }, []);
    return [v, set];
  };
  return { read, set, use };
}

export type Theme = 'system' | 'light' | 'dark';
export const themePref = pref<Theme>('opssight.theme', 'system');
/** The team slug the switcher selected; '' means all teams. */
export const teamPref = pref<string>('opssight.team', '');

export function applyTheme(theme: Theme): void {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}
