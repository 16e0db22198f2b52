import type { MeResponse } from '@deliberate/contracts';
import { createContext, useContext } from 'react';
import type { ApiClient } from './api-client';

// What every view needs: the signed-in key's client, who that key is, and a way to open another view.

export interface ConsoleContextValue {
  api: ApiClient;
  me: MeResponse;
  openTask: (taskId: string) => void;
}

export const ConsoleContext = createContext<ConsoleContextValue | null>(null);

export function useConsole(): ConsoleContextValue {
  const value = useContext(ConsoleContext);
  if (!value) throw new Error('useConsole outside a signed-in console');
  return value;
}
