import type { ReactNode } from 'react';
import { NavLink } from 'react-router';
import { useSession } from '../auth/session.ts';
import { Notices } from '../ui/Notices.tsx';

const NAV = [
  ['/workflows', 'Workflows'],
  ['/runs', 'Runs'],
  ['/approvals', 'Approvals'],
  ['/analytics', 'Analytics'],
  ['/agents', 'Agents & models'],
] as const;

export function Shell({ children }: { children: ReactNode }) {
  const { me, signOut } = useSession();
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">CodexOS</div>
        {NAV.map(([to, label]) => (
          <NavLink key={to} to={to} className={({ isActive }) => (isActive ? 'active' : '')}>
            {label}
          </NavLink>
        ))}
        <div className="spacer" />
        <div className="who" title={me?.role === 'admin' ? 'server admin' : 'member'}>
          <span data-testid="me">{me?.userId}</span> <span className="muted">({me?.role})</span>
        </div>
        <button type="button" className="link" onClick={signOut}>Sign out</button>
      </nav>
      <main className="content">{children}</main>
      <Notices />
    </div>
  );
}
