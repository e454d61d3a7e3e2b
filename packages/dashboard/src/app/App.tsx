import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useEffect } from 'react';
import { HashRouter, Navigate, Route, Routes } from 'react-router';
import { ApiError } from '../api/client.ts';
import { ApprovalsPage } from '../approvals/ApprovalsPage.tsx';
import { SignIn } from '../auth/SignIn.tsx';
import { useSession } from '../auth/session.ts';
import { RunsPage } from '../runs/RunsPage.tsx';
import { WorkflowsPage } from '../workflows/WorkflowsPage.tsx';
import { Shell } from './Shell.tsx';

// Charts (recharts) load only when Analytics or Agents & models is opened; the canvas views (React Flow, Yjs,
// the layout library) only when a workflow or a run is opened, so the workflow list comes up on a small bundle.
const DesignerPage = lazy(() => import('../designer/DesignerPage.tsx').then((m) => ({ default: m.DesignerPage })));
const RunPage = lazy(() => import('../runs/RunPage.tsx').then((m) => ({ default: m.RunPage })));
const AnalyticsPage = lazy(() => import('../analytics/AnalyticsPage.tsx').then((m) => ({ default: m.AnalyticsPage })));
const AgentsPage = lazy(() => import('../agents/AgentsPage.tsx').then((m) => ({ default: m.AgentsPage })));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (n, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && n < 2,
      refetchOnWindowFocus: false,
      staleTime: 2000,
    },
  },
});

function Authed() {
  const { api, me, signIn, signOut, token } = useSession();
  useEffect(() => {
    if (!api || me || !token) return;
    api.me().then(
      (m) => signIn(token, m),
      (err) => {
        if (err instanceof ApiError && err.status === 401) signOut();
      },
    );
  }, [api, me, token, signIn, signOut]);
  if (!api) return <SignIn />;
  if (!me) return <div className="loading" role="status">Connecting…</div>;
  return (
    <Shell>
      <Suspense fallback={<div className="loading" role="status">Loading…</div>}>
      <Routes>
        <Route path="/" element={<Navigate to="/workflows" replace />} />
        <Route path="/workflows" element={<WorkflowsPage />} />
        <Route path="/workflows/:id" element={<DesignerPage />} />
        <Route path="/runs" element={<RunsPage />} />
        <Route path="/runs/:id" element={<RunPage />} />
        <Route path="/approvals" element={<ApprovalsPage />} />
        <Route path="/analytics" element={<AnalyticsPage />} />
        <Route path="/agents" element={<AgentsPage />} />
        <Route path="*" element={<div className="page"><h1>Not found</h1></div>} />
      </Routes>
      </Suspense>
    </Shell>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <HashRouter>
        <Authed />
      </HashRouter>
    </QueryClientProvider>
  );
}
