// What every panel of the signed-in dashboard needs: the API client, the viewer, a way to tell
// the user what happened (an aria-live region), and change counters that make lists reload.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api.js';

export interface DashboardContext {
  api: Api;
  user: string;
  announce: (message: string) => void;
  /** Bumped when the viewer's AMIs may have changed (a creation ended, an action succeeded). */
  amisVersion: number;
  amisChanged: () => void;
}

export const Dashboard = createContext<DashboardContext | null>(null);

export function useDashboard(): DashboardContext {
  const value = useContext(Dashboard);
  if (!value) throw new Error('useDashboard outside <Dashboard.Provider>');
  return value;
}
