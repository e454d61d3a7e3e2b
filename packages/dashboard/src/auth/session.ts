import { create } from 'zustand';
import { ApiClient } from '../api/client.ts';
import type { Me } from '../api/types.ts';

// Who is signed in: the API token (kept in localStorage so a reload stays signed in) and the identity the
// server reports for it. The token never appears in the UI after sign-in.

const KEY = 'codexos.token';

interface SessionState {
  token: string | null;
  me: Me | null;
  api: ApiClient | null;
  signIn(token: string, me: Me): void;
  signOut(): void;
}

function storedToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export const apiBase = () => '';

export const useSession = create<SessionState>((set) => {
  const token = storedToken();
  return {
    token,
    me: null,
    api: token ? new ApiClient(apiBase(), token) : null,
    signIn(token, me) {
      try {
        localStorage.setItem(KEY, token);
      } catch {
        /* private mode: stay signed in for this tab only */
      }
      set({ token, me, api: new ApiClient(apiBase(), token) });
    },
    signOut() {
      try {
        localStorage.removeItem(KEY);
      } catch {
        /* ignore */
      }
      set({ token: null, me: null, api: null });
    },
  };
});

/** The API client of the signed-in user (pages render only when signed in). */
export function useApi(): ApiClient {
  const api = useSession((s) => s.api);
  if (!api) throw new Error('not signed in');
  return api;
}
