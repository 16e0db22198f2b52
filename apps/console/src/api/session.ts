// The API key lives in this tab's sessionStorage only: closing the tab or signing out forgets it.
const KEY = 'deliberate.console.apiKey';

export function storedApiKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeApiKey(apiKey: string): void {
  sessionStorage.setItem(KEY, apiKey);
}

export function forgetApiKey(): void {
  sessionStorage.removeItem(KEY);
}
